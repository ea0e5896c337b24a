"""Create + sync time per backend for the same spec, as a table.

    uv run aiinfra exec 101-04 -- python benchmarks/bench_create.py [--repeats 3] [--pypi]

Each backend builds the same environment from the same spec ``--repeats`` times in fresh
folders: cold (no lock: resolve, then sync) and warm (the lock exists: sync only). Packages
come from the private index on loopback (:mod:`envmgr.localindex`), or with ``--pypi`` from
PyPI (a larger spec: attrs, requests, tomli-w, iniconfig). Installers' caches stay warm
between runs, as on a developer's machine; the first run of each backend fills them.
Backends missing here are listed as such, not timed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from envmgr import localindex, manager
from envmgr.backends import backend
from envmgr.lockfile import read_lock
from envmgr.spec import load_spec

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def _spec(folder: Path, name: str, index: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if index:
        deps = '["acme-model>=2.0", "acme-plot>=0.3"]'
        extra = f'index_url = "{index}"\n'
    else:
        deps = '["attrs>=23", "requests>=2.31", "tomli-w>=1.0", "iniconfig>=2"]'
        extra = ""
    path = folder / "envmgr.toml"
    path.write_text(f'name = "bench"\npython = "{PYTHON}"\nbackend = "{name}"\n{extra}'
                    f"dependencies = {deps}\n")  # fmt: skip
    return path


def _time_backend(name: str, root: Path, index: str | None, repeats: int) -> dict[str, float]:
    cold, warm = [], []
    for i in range(repeats + 1):  # run 0 fills the caches and is not counted
        folder = root / f"{name}-{i}"
        spec_path = _spec(folder, name, index)
        spec = load_spec(spec_path)
        registry = manager.Registry(folder / "home")
        started = time.perf_counter()
        record = manager.create(spec, spec_path, folder / "env", registry)
        if i:
            cold.append(time.perf_counter() - started)
        manager.remove(registry, record.name)
        started = time.perf_counter()  # again, with the lock already there: sync only
        manager.create(spec, spec_path, folder / "env", registry)
        if i:
            warm.append(time.perf_counter() - started)
    packages = len(read_lock(Path(record.lock)).pins)
    return {"cold": statistics.median(cold), "warm": statistics.median(warm),
            "packages": packages}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per backend (1-20)")
    parser.add_argument("--pypi", action="store_true", help="packages from PyPI")
    args = parser.parse_args()
    if not 1 <= args.repeats <= 20:
        parser.error("--repeats must be between 1 and 20")
    rows = []
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="envmgr-bench-")))
        index = None
        if not args.pypi:
            localindex.write_index(root / "index")
            index = stack.enter_context(localindex.serve(root / "index"))
        for name in ("uv", "venv", "poetry", "conda"):
            ok, detail = backend(name).available()
            if not ok:
                rows.append((name, "-", "-", "-", f"not measured: {detail}"))
                continue
            result = _time_backend(name, root, index, args.repeats)
            rows.append((name, f"{result['cold']:.2f}", f"{result['warm']:.2f}",
                         str(int(result["packages"])), detail))  # fmt: skip
            print(f"{name}: done", file=sys.stderr)
    source = "PyPI" if args.pypi else "private index on loopback"
    print(f"\ncreate + sync, median of {args.repeats} (s), Python {PYTHON}, packages from {source}")
    print("| backend | cold: resolve + sync | warm: lock exists, sync only | packages | tool |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
