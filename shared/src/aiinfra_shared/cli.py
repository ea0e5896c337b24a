"""``aiinfra``: the root command of the repository.

aiinfra list                    every exercise: id, title, services, GPU (--wide: more)
aiinfra run 101-07              sync that package into .venvs/<short>, start its services,
                                run its demo, stop them
aiinfra exec 101-07 -- CMD ...  run CMD in the package's environment and folder
aiinfra shell 101-07            a shell there (exit to leave)
aiinfra test 101-07             run the package's nox session (its own exact environment)
aiinfra progress                what passed, what ran, what to do next
aiinfra guide check 101-07      run the checkpoints of the package's step-by-step guide
aiinfra docs serve              the documentation site, on a local port
aiinfra ci matrix               the CI matrix of test sessions (JSON), from the packages
aiinfra doctor                  which services, binaries and GPU this machine has
aiinfra new 101-04 <folder>     scaffold a package from the template
aiinfra service redis           start one service and keep it up until Ctrl+C
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
from rich.markup import escape
from rich.table import Table

from aiinfra_shared import envs, progress, scaffold, workspace
from aiinfra_shared.cliapp import console, err_console, package_app, run_typer, sub_app
from aiinfra_shared.errors import AiinfraError
from aiinfra_shared.logging import configure
from aiinfra_shared.services import LAUNCHERS, RunningService, start

app = package_app(
    "Run, test and scaffold the exercises of aiinfra-solutions (the packages are read from "
    "their [tool.aiinfra] tables)."
)


@app.command("list")
def list_(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the README table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    wide: Annotated[
        bool, typer.Option("--wide", help="Also the package name and folder (needs ~160 columns).")
    ] = False,
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
                "status": "installed" if envs.venv_dir(root, m).exists() else "not installed",
            }
            for m in members
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="aiinfra exercises", show_lines=False, expand=False)
    table.add_column("id", no_wrap=True)
    if wide:
        table.add_column("package", no_wrap=True)
    table.add_column("title", ratio=1, overflow="fold")
    table.add_column("services", max_width=14)
    table.add_column("GPU", no_wrap=True)
    table.add_column("env", no_wrap=True)
    if wide:
        table.add_column("folder", no_wrap=True)
    for m in members:
        installed = envs.venv_dir(root, m).exists()
        row = [m.id, *([m.dist] if wide else []), m.title, ", ".join(m.services) or "-"]
        row += ["yes" if m.gpu else "-", "[green]ready[/]" if installed else "-"]
        row += [m.rel(root)] if wide else []
        table.add_row(*row)
    console.print(table)
    console.print(
        "Run one: [bold]uv run aiinfra run <id>[/]. Test it: [bold]uv run aiinfra test <id>[/]. "
        "env: its .venvs/ environment exists."
    )


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
    if no_sync:
        venv = envs.venv_dir(root, member)
    else:
        with console.status(f"Installing {member.dist} into its environment ..."):
            venv = envs.sync(root, member, tuple(extra or ()))
    python = envs.bin_dir(venv) / "python"
    if not python.exists():
        raise AiinfraError(f"{venv} has no python: run without --no-sync")
    # "--": the demo's own options (--workdir ...) must reach it, not demo-here's parser.
    command = [str(python), "-m", "aiinfra_shared.cli", "demo-here", member.id, "--", *(args or [])]
    code = envs.call(command, env=envs.environment(root, venv))
    progress.record(root, member.id, "demo", code == 0, "" if code == 0 else f"exit {code}")
    raise typer.Exit(code)


@app.command("exec", context_settings={"allow_interspersed_args": False})
def exec_(
    exercise_id: Annotated[str, typer.Argument(help="Exercise id (101-07) or short name.")],
    command: Annotated[
        list[str] | None, typer.Argument(help="The command and its arguments (after --).")
    ] = None,
    extra: Annotated[
        list[str] | None,
        typer.Option("--extra", help="Also install this extra of the package (repeatable)."),
    ] = None,
    root_dir: Annotated[
        bool, typer.Option("--root", help="Run in the repository root, not the package folder.")
    ] = False,
) -> None:
    """Run a command in the package's own environment (.venvs/<short>) and folder.

    Examples: ``aiinfra exec 101-07 -- pytest tests/test_api.py -q``,
    ``aiinfra exec 101-07 -- mlapi train``. The environment is synced first when uv.lock or
    the package changed; the root environment is never touched.
    """
    root = workspace.find_root()
    member = workspace.lookup(exercise_id, root)
    code = envs.run_in(
        root, member, command or [], extras=tuple(extra or ()), cwd=root if root_dir else None
    )
    raise typer.Exit(code)


@app.command()
def shell(
    exercise_id: Annotated[str, typer.Argument(help="Exercise id (101-07) or short name.")],
    extra: Annotated[
        list[str] | None,
        typer.Option("--extra", help="Also install this extra of the package (repeatable)."),
    ] = None,
) -> None:
    """Open a shell in the package's folder with its environment active (exit to leave)."""
    root = workspace.find_root()
    member = workspace.lookup(exercise_id, root)
    shell_path = os.environ.get("SHELL") or shutil.which("bash") or "/bin/sh"
    console.print(
        f"[bold]{member.id}[/] {member.title}\n"
        f"folder {member.rel(root)}, environment {envs.venv_dir(root, member)}; "
        "`exit` to leave."
    )
    env = {"AIINFRA_SHELL": member.short}
    code = envs.run_in(root, member, [shell_path], extras=tuple(extra or ()), env=env)
    raise typer.Exit(code)


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
        for name in member.demo_services:
            with console.status(f"Starting {name} ..."):
                service: RunningService = stack.enter_context(start(name))
            console.print(f"[green]✓[/] {name} at {service.url} (pid {service.pid})")
            env.update(service.env)
        command = [*member.demo, *(args or [])]
        console.print(f"[bold]$ {' '.join(command)}[/]")
        code = envs.call(command, env=env, cwd=root)
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
    started = time.monotonic()
    code = envs.call(command, cwd=root)
    # Only a whole-suite run counts as the exercise passing (a `-k` subset does not).
    if not pytest_args:
        detail = f"{time.monotonic() - started:.0f} s" if code == 0 else f"exit {code}"
        progress.record(root, member.id, "tests", code == 0, detail)
    raise typer.Exit(code)


@app.command("progress")
def progress_(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print Markdown, to paste into a study log.")
    ] = False,
) -> None:
    """Your progress: which exercises pass their tests, whose demo ran, what to do next.

    Recorded by ``aiinfra test <id>`` (the whole suite), ``aiinfra run <id>`` and
    ``aiinfra guide check <id>`` in .aiinfra/progress.json (git-ignored).
    """
    root = workspace.find_root()
    rows = progress.rows(root)
    if markdown:
        typer.echo(progress.markdown(rows))
        return
    table = Table(title="your progress", expand=False)
    table.add_column("id", no_wrap=True)
    table.add_column("exercise", ratio=1, overflow="fold")
    for column in ("tests", "demo", "guide"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        cells = [progress.cell(e) for e in (row.tests, row.demo, row.guide)]
        styled = [
            f"[green]{c}[/]" if c.startswith("passed") else f"[red]{c}[/]" if c != "-" else c
            for c in cells
        ]
        table.add_row(row.member.id, row.member.title, *styled)
    console.print(table)
    done = sum(r.done for r in rows)
    console.print(f"{done} of {len(rows)} exercises pass their tests.")
    upcoming = progress.next_exercise(rows)
    if upcoming is not None:
        console.print(
            f"Next: [bold]{upcoming.member.id}[/] {upcoming.member.title}: "
            f"[bold]uv run aiinfra run {upcoming.member.id}[/], then read "
            f"{upcoming.member.rel(root)}/docs/STEP_BY_STEP.md"
        )


guide_app = sub_app("The step-by-step guides: list and run their checkpoints.")
app.add_typer(guide_app, name="guide")


@guide_app.command("list")
def guide_list(
    exercise_id: Annotated[str, typer.Argument(help="Exercise id (101-07) or short name.")],
) -> None:
    """The checkpoints of a package's docs/STEP_BY_STEP.md, in order."""
    from aiinfra_shared import guides

    root = workspace.find_root()
    guide = guides.guide_for(workspace.lookup(exercise_id, root))
    table = Table(title=str(guide.path.relative_to(root)), expand=False)
    for column in ("step", "line", "kind", "command"):
        table.add_column(column, overflow="fold")
    for c in guide.checkpoints:
        kind = ", ".join(k for k, on in (("slow", c.slow), ("background", c.background)) if on)
        table.add_row(str(c.step), str(c.line), kind or "quick", escape(c.summary))
    console.print(table)


@guide_app.command("check")
def guide_check(
    exercise_id: Annotated[str, typer.Argument(help="Exercise id (101-07) or short name.")],
    quick: Annotated[
        bool, typer.Option("--quick", help="Leave out the checkpoints marked slow.")
    ] = False,
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Throwaway package environments, as in a new clone."),
    ] = False,
) -> None:
    """Run the guide's checkpoints in order from the repository root; stop at a failure."""
    from aiinfra_shared import guides

    root = workspace.find_root()
    member = workspace.lookup(exercise_id, root)
    guide = guides.guide_for(member)
    if not guide.checkpoints:
        raise AiinfraError(f"{guide.path.relative_to(root)} has no checkpoints")
    with ExitStack() as stack:
        env = stack.enter_context(guides.fresh_environment()) if fresh else {}
        with console.status("") as status:

            def show(c: guides.Checkpoint) -> None:
                status.update(f"step {c.step}: {escape(c.summary)}")

            outcomes = guides.run_checkpoints(root, guide, quick=quick, env=env, on_start=show)
    table = Table(title=f"{member.id}: {guide.path.relative_to(root)}", expand=False)
    for column in ("step", "command", "result", "s"):
        table.add_column(column, overflow="fold")
    style = {"passed": "green", "failed": "red", "skipped": "yellow"}
    for o in outcomes:
        result = o.status + (f" ({o.reason})" if o.reason else "")
        table.add_row(
            str(o.checkpoint.step),
            escape(o.checkpoint.summary),
            f"[{style[o.status]}]{escape(result)}[/]",
            f"{o.seconds:.1f}" if o.status != "skipped" else "",
        )
    console.print(table)
    passed = sum(o.status == "passed" for o in outcomes)
    failed = [o for o in outcomes if o.status == "failed"]
    progress.record(root, member.id, "guide", not failed, f"{passed}/{len(outcomes)} checkpoints")
    if failed:
        o = failed[0]
        tail = "\n".join(o.output.rstrip().splitlines()[-25:])
        where = f"step {o.checkpoint.step}, line {o.checkpoint.line}"
        console.print(f"[red]{where}:[/] {escape(o.reason)}")
        console.print(escape(tail), highlight=False)
        raise typer.Exit(1)
    console.print(f"{passed} of {len(outcomes)} checkpoints passed.")


docs_app = sub_app("The documentation site: build it, or serve it on a local port.")
app.add_typer(docs_app, name="docs")


def _docs_mkdocs(root: Path) -> str:
    """mkdocs from the root ``docs`` dependency group, synced into .venvs/_docs."""
    uv = shutil.which("uv")
    if uv is None:
        raise AiinfraError("uv is not installed: `pip install uv`")
    venv = envs.venvs_root(root) / "_docs"
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    env.pop("VIRTUAL_ENV", None)
    command = [uv, "sync", "--only-group", "docs", "--quiet"]
    if subprocess.run(command, cwd=root, env=env, check=False).returncode != 0:
        raise AiinfraError(f"`{' '.join(command)}` failed")
    return str(envs.bin_dir(venv) / "mkdocs")


@docs_app.command("build")
def docs_build(
    out: Annotated[str, typer.Option(help="Where the HTML goes.")] = "site",
) -> None:
    """Assemble the site (docs/, every README and guide) and build it with mkdocs --strict."""
    from aiinfra_shared import docsite

    root = workspace.find_root()
    target = Path(out) if Path(out).is_absolute() else root / out
    with console.status("building the documentation site ..."):
        docsite.build(root, target, mkdocs=_docs_mkdocs(root))
    console.print(f"[green]built[/] {target}/index.html")


@docs_app.command("serve")
def docs_serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.", min=1, max=65535)] = 8765,
) -> None:
    """Build the site, then serve it on http://127.0.0.1:PORT until Ctrl-C."""
    import functools
    import http.server

    from aiinfra_shared import docsite

    root = workspace.find_root()
    target = root / "site"
    with console.status("building the documentation site ..."):
        docsite.build(root, target, mkdocs=_docs_mkdocs(root))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(target))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        console.print(f"serving [bold]http://127.0.0.1:{port}/index.html[/] (Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            console.print("stopped")


ci_app = sub_app("What CI runs: the matrix of package jobs, for the GitHub workflows.")
app.add_typer(ci_app, name="ci")


@ci_app.command("matrix")
def ci_matrix(
    base: Annotated[
        str | None,
        typer.Option(help="Select the packages changed since this git ref (a PR's base)."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every package (the nightly run).")] = False,
    sessions: Annotated[
        bool, typer.Option("--sessions", help="Print the session names, one per line.")
    ] = False,
) -> None:
    """Print the CI matrix as JSON: one entry per package (its nox sessions, services and
    expected seconds); `--base REF` narrows it to what changed since REF."""
    from aiinfra_shared import ci

    if base is None and not all_:
        raise AiinfraError("give --base REF (the packages a change touches) or --all")
    root = workspace.find_root()
    files = None if all_ else ci.changed_files(root, str(base))
    selection = ci.select(root, files)
    result = ci.matrix(root, selection)
    if sessions:
        names = [s for e in result["include"] for s in e["sessions"]]
        typer.echo("\n".join([*names, *ci.CHECK_SESSIONS]))
        return
    typer.echo(json.dumps(result, separators=(",", ":")))
    err_console.print(f"selected: {selection.reason}")


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
    port: Annotated[
        int | None, typer.Option(help="Listen on this port (default: a free one).", min=1)
    ] = None,
) -> None:
    """Start one service on loopback and keep it up until Ctrl+C (prints its env).

    The service's Python side (mlflow, moto, kmock, Tansu...) comes from aiinfra-shared's
    extras: they are installed once into .venvs/shared, and the service runs from there.
    """
    if name not in LAUNCHERS:  # before anything is installed
        raise AiinfraError(f"unknown service {name!r}; known services: {', '.join(LAUNCHERS)}")
    root = workspace.find_root()
    shared = workspace.lookup("shared", root)
    with console.status("Installing the services' environment (.venvs/shared) ..."):
        venv = envs.sync(root, shared, ("all",))
    python = envs.bin_dir(venv) / "python"
    command = [str(python), "-m", "aiinfra_shared.cli", "service-here", name]
    command += ["--port", str(port)] if port else []
    raise typer.Exit(envs.call(command, env=envs.environment(root, venv)))


@app.command("service-here", hidden=True)
def service_here(name: str, port: int | None = None) -> None:
    """(Runs inside .venvs/shared.) Start the service and wait for Ctrl+C or SIGTERM."""
    configure(level="INFO")
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    # Explicit handlers, set before the service starts: a SIGTERM while it is starting must
    # still stop it (the service runs in its own process group and would outlive us), and a
    # process started in the background of a script inherits an ignored SIGINT.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with start(name, **({"port": port} if port else {})) as svc:
        console.print(f"[green]{name}[/] at [bold]{svc.url}[/] (pid {svc.pid}); Ctrl+C stops it.")
        for key, value in svc.env.items():
            console.print(f"export {key}={value}")
        while not stop and svc.process.poll() is None:
            time.sleep(0.2)
        if svc.process.poll() is not None:
            raise AiinfraError(
                f"{name} exited with code {svc.process.returncode}:\n{svc.log_tail()}"
            )


#: Entry point: user mistakes become one red line and a non-zero exit, never a traceback.
main = run_typer(app)


if __name__ == "__main__":
    main()
