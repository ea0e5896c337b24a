"""``envmgr demo``: a real environment from a spec, its hashed lock, drift planted and caught,
the exact sync that removes it, an upgrade of one pin, and the Dockerfile.

By default the packages come from a private index the demo builds and serves on loopback
(:mod:`envmgr.localindex`), so it runs offline in seconds; ``--pypi`` uses small packages
from PyPI instead.
"""

from __future__ import annotations

import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from envmgr import localindex, manager
from envmgr.backends import backend as get_backend
from envmgr.export import export
from envmgr.lockfile import read_lock
from envmgr.spec import load_spec
from envmgr.tools import env_python, executable, run

LOCAL_SPEC = """\
# A model service's environment: its model library (which needs a features library),
# a plotting library in the dev group, all from the team's own index.
name = "demo-env"
python = "{python}"
backend = "{backend}"
index_url = "{index}"
dependencies = ["acme-model>=2.0", "acme-features>=1.0{cap}"]

[groups]
dev = ["acme-plot>=0.3"]
"""

PYPI_SPEC = """\
# Small pure-Python packages from PyPI.
name = "demo-env"
python = "{python}"
backend = "{backend}"
dependencies = ["attrs>=23", "tomli-w>=1.0{cap}"]

[groups]
dev = ["iniconfig>=2"]
"""


def run_demo(
    console: Console, workdir: Path | None, backend: str = "uv", pypi: bool = False
) -> None:
    """The walk-through; everything is written under ``workdir`` (a temp dir by default)."""
    with ExitStack() as stack:
        root = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="envmgr-")))
        root.mkdir(parents=True, exist_ok=True)
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        if pypi:
            template, index, stray, cap = PYPI_SPEC, "", "six", ",<1.2"
        else:
            console.rule("0. a private package index on loopback")
            localindex.write_index(root / "index")
            index = stack.enter_context(localindex.serve(root / "index"))
            wheels = sorted(p.name for p in (root / "index" / "files").glob("*.whl"))
            console.print(f"{index}: {', '.join(wheels)}")
            template, stray, cap = LOCAL_SPEC, "stray-tool", ",<1.1"
        spec_path = root / "envmgr.toml"
        spec_path.write_text(template.format(python=python, backend=backend, index=index, cap=cap))
        spec = load_spec(spec_path)
        registry = manager.Registry(root / "home")
        env_dir = root / "home" / "envs" / spec.name

        console.rule(f"1. create ({backend}) from {spec_path.name}")
        console.print(escape(spec_path.read_text()), style="dim")
        with console.status("creating") as status:
            record = manager.create(spec, spec_path, env_dir, registry,
                                    step=lambda s: status.update(s))  # fmt: skip
        lock = read_lock(Path(record.lock))
        console.print(f"environment {escape(record.path)} with Python {record.python}")
        console.print(f"lock: {len(lock.pins)} packages, each with its sha256: "
                      + ", ".join(f"{n}=={v}" for n, v in sorted(lock.pins.items())))  # fmt: skip

        console.rule("2. check: matches the lock, pip check, every package imports")
        console.print(f"ok: {manager.check(record, spec).ok}")

        console.rule(f"3. drift: {stray} installed by hand")
        uv = executable("uv")
        options = [] if pypi else ["--index-url", index]
        if uv:
            run([uv, "pip", "install", "--quiet", "--python", str(env_python(env_dir)), stray,
                 *options], what=f"installing {stray}")  # fmt: skip
        else:
            run([str(env_python(env_dir)), "-m", "pip", "install", "--quiet", stray, *options],
                what=f"installing {stray}")  # fmt: skip
        report = manager.check(record, spec)
        console.print(f"ok: {report.ok}; not in the lock: {', '.join(report.extra)}")

        console.rule("4. sync: exact, so the stray package goes")
        manager.sync(record, spec)
        console.print(f"ok after sync: {manager.check(record, spec).ok}")

        console.rule("5. the spec allows a newer version: lock keeps the pin until asked")
        spec_path.write_text(spec_path.read_text().replace(cap, "", 1))
        spec = load_spec(spec_path)
        target = "tomli-w" if pypi else "acme-features"
        kept = read_lock(manager.lock(spec, spec_path, env_dir)).pins[target]
        moved = read_lock(manager.lock(spec, spec_path, env_dir, upgrade=[target])).pins[target]
        manager.sync(record, spec)
        console.print(f"{target}: `envmgr lock` keeps {kept}; "
                      f"`envmgr lock --upgrade-package {target}` -> {moved}; synced")  # fmt: skip

        console.rule("6. export: a Dockerfile pinned to the lock")
        exported = export(spec, Path(record.lock), root / "image")
        console.print(escape(exported.dockerfile.read_text()), style="dim")
        if exported.lint is None:
            verdict = "not linted (no hadolint)"
        else:
            verdict = f"hadolint: {exported.lint}" if exported.lint else "hadolint: clean"
        console.print(verdict)

        console.rule("7. list, remove")
        for row in manager.listing(registry):
            console.print(f"{row['name']}: {row['backend']}, Python {row['python']}, "
                          f"{manager.human_size(row['size_bytes'])}")  # fmt: skip
        manager.remove(registry, spec.name)
        console.print("removed; backends here: " + ", ".join(
            f"{name} ({'ok' if get_backend(name).available()[0] else 'missing'})"
            for name in ("venv", "uv", "poetry", "conda")))  # fmt: skip
