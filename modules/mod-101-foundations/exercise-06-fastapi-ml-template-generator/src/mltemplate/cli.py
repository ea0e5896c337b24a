"""The ``mltemplate`` command.

Exit codes: 0 done, 1 bad input or update conflicts (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from
from mltemplate import generator
from mltemplate.config import Settings
from mltemplate.display import file_tree
from mltemplate.errors import MltemplateError

app = package_app(
    "101-06: FastAPI template generator: three golden-path service templates, answers file "
    "and three-way update"
)

_TRUE, _FALSE = {"true", "yes", "y", "1", "on"}, {"false", "no", "n", "0", "off"}


def _settings() -> Settings:
    return settings_from(Settings, MltemplateError)


def parse_options(items: list[str]) -> dict[str, bool]:
    """``["auth=false", "tracing"]`` -> ``{"auth": False, "tracing": True}``.

    Raises:
        MltemplateError: Not ``name`` or ``name=yes|no``.
    """
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        word = value.strip().lower() if sep else "true"
        if not key or word not in _TRUE | _FALSE:
            raise MltemplateError(f"--option {item!r}: write name=yes or name=no (or just name)")
        out[key] = word in _TRUE
    return out


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


@app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The templates, their versions and options (with defaults)."""
    found = generator.templates(_settings().templates)
    if as_json:
        print(json.dumps({n: {"version": t.version, "description": t.description,
                              "options": {k: d for k, (d, _) in t.options.items()}}
                          for n, t in found.items()}, indent=2))  # fmt: skip
        return
    table = Table("template", "version", "description", "options (default)")
    for name, template in found.items():
        options = ", ".join(f"{k}={'yes' if d else 'no'}" for k, (d, _) in template.options.items())
        table.add_row(name, template.version, template.description, options)
    console.print(table)


@app.command()
def new(
    template: Annotated[str | None, typer.Option("--template", "-t", help="See `list`.")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Project name.")] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="name=yes|no (repeatable).")
    ] = None,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where (default: ./<name>).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Write into a folder that is not empty.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Show the file tree; write nothing.")] = False,
    defaults: Annotated[bool, typer.Option(help="No questions: defaults for the rest.")] = False,
) -> None:
    """Render a new project. Asks for what is missing when run in a terminal."""
    settings = _settings()
    every = generator.templates(settings.templates)
    ask = _interactive() and not defaults
    if template is None:
        if not ask:
            raise MltemplateError(f"--template is required; choose one of {', '.join(every)}")
        template = typer.prompt(f"template ({', '.join(every)})", default=next(iter(every)))
    chosen = generator.get_template(str(template), settings.templates)
    if name is None:
        if not ask:
            raise MltemplateError("--name is required (e.g. --name fraud-scorer)")
        name = str(typer.prompt("project name"))
    generator.check_name(name)
    given = parse_options(option or [])
    if ask:
        for key, (default, help_text) in chosen.options.items():
            if key not in given:
                given[key] = typer.confirm(f"{key}: {help_text}?", default=default)
    options = generator.resolve_options(chosen, given)
    target = (directory or Path(name)).absolute()
    if dry_run:
        files = generator.render(chosen, name, options)
        console.print(file_tree(target.name, sorted(files)))
        console.print(f"{len(files)} files; nothing written (--dry-run)")
        return
    files = generator.new(chosen, name, options, target, force=force)
    console.print(f"created {escape(str(target))}: {len(files)} files from {chosen.name} "
                  f"{chosen.version}")  # fmt: skip
    console.print(escape(f'next: cd {target} && pip install -e ".[test]" && pytest -q'))


@app.command()
def update(
    project: Annotated[Path, typer.Argument(help="The generated project.")] = Path(),
) -> None:
    """Re-render with the template as it is now; keep your edits (three-way merge)."""
    report = generator.update(project, _settings().templates)
    console.print(f"{escape(str(project))}: {report.old_version} -> {report.new_version}")
    for label, items in (("updated", report.updated), ("merged", report.merged),
                         ("added", report.added), ("removed", report.removed),
                         ("kept (removed by the template, edited by you)", report.kept),
                         ("CONFLICT", report.conflicts)):  # fmt: skip
        for item in items:
            console.print(f"  {label}: {escape(item)}")
    if report.conflicts:
        raise MltemplateError(f"{len(report.conflicts)} file(s) have conflicts, marked with "
                              f"<<<<<<< in: {', '.join(report.conflicts)}")  # fmt: skip


@app.command()
def demo(
    workdir: Annotated[
        Path | None, typer.Option(help="Where the demo writes (default: a temp dir).")
    ] = None,
    template: Annotated[str, typer.Option(help="Which template to show.")] = "sklearn",
) -> None:
    """Generate a project, install it in a fresh venv, run its tests, serve it, call it."""
    from mltemplate.demo import run_demo

    run_demo(console, workdir, template, _settings().templates)


main = run_typer(app)
