"""What the commands do: create, lock, sync, check, list, remove, with a registry of the
environments envmgr manages.

An environment is built in place with a marker file (``.envmgr-incomplete``) that is removed
only when the lock resolved and the sync succeeded. A failure deletes the folder; a folder a
killed run left behind (marker still there) is cleaned up by the next ``create``. A conflict or
a missing Python leaves nothing half-built.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from envmgr.backends import SEEDED, backend, installed
from envmgr.errors import EnvmgrError, LockError
from envmgr.lockfile import Lock, read_lock, spec_digest
from envmgr.spec import EnvSpec
from envmgr.tools import env_python, find_python, run

Step = Callable[[str], None]
INCOMPLETE = ".envmgr-incomplete"


@dataclass
class Record:
    """One managed environment, as the registry keeps it."""

    name: str
    path: str
    backend: str
    python: str
    spec: str
    lock: str
    created: float
    last_used: float


class Registry:
    """``<home>/registry.json``: every environment envmgr created, by name."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.file = home / "registry.json"

    def load(self) -> dict[str, Record]:
        if not self.file.is_file():
            return {}
        try:
            doc = json.loads(self.file.read_text())
            return {name: Record(**row) for name, row in doc.items()}
        except (ValueError, TypeError) as exc:
            raise EnvmgrError(f"{self.file} is damaged ({exc}); move it away") from None

    def save(self, records: dict[str, Record]) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: asdict(v) for k, v in sorted(records.items())}, indent=1))
        tmp.replace(self.file)

    def get(self, name: str) -> Record:
        """Raises: EnvmgrError: not managed here."""
        records = self.load()
        if name not in records:
            have = ", ".join(records) or "none"
            raise EnvmgrError(f"no environment named {name!r} (managed: {have})")
        return records[name]

    def put(self, record: Record) -> None:
        records = self.load()
        records[record.name] = record
        self.save(records)

    def touch(self, name: str) -> None:
        records = self.load()
        if name in records:
            records[name].last_used = time.time()
            self.save(records)

    def drop(self, name: str) -> None:
        records = self.load()
        records.pop(name, None)
        self.save(records)


def lock_path_for(spec_path: Path) -> Path:
    """``envmgr.lock`` beside the spec."""
    return spec_path.parent / "envmgr.lock"


def header_for(spec: EnvSpec, groups: tuple[str, ...] | None) -> dict[str, str]:
    requirements = spec.requirements(groups)
    return {"name": spec.name, "python": spec.python, "backend": spec.backend,
            "spec": spec_digest(requirements, spec.indexes(), spec.python)}  # fmt: skip


def lock(spec: EnvSpec, spec_path: Path, env_dir: Path, *, upgrade: list[str] | None = None,
         groups: tuple[str, ...] | None = None) -> Path:  # fmt: skip
    """Resolve the spec into its lock (with ``env_dir``'s Python)."""
    path = lock_path_for(spec_path)
    backend(spec.backend).resolve(env_dir, spec.requirements(groups), spec.indexes(), path,
                                  header_for(spec, groups), list(upgrade or []))  # fmt: skip
    return path


def create(spec: EnvSpec, spec_path: Path, env_dir: Path, registry: Registry, *,
           step: Step = lambda _: None, relock: bool = False,
           groups: tuple[str, ...] | None = None) -> Record:  # fmt: skip
    """Build the environment: Python found, env created, lock resolved (kept when it matches
    the spec), synced, then moved into place and registered.

    Raises:
        EnvmgrError: The folder exists, the Python is missing, the resolver found a conflict
            (its explanation in the message), or a tool failed. Nothing is left behind.
    """
    spec_path = spec_path.absolute()
    chosen = backend(spec.backend)
    chosen.require()
    marker = env_dir / INCOMPLETE
    if marker.exists():  # a run killed half-way: not an environment anyone uses
        shutil.rmtree(env_dir)
    if env_dir.exists():
        raise EnvmgrError(f"{env_dir} exists; `envmgr remove {spec.name}` or pick another --path")
    python = find_python(spec.python)
    try:
        step(f"creating a {spec.backend} environment with Python {python.full}")
        chosen.create(env_dir, python)
        marker.touch()
        lock_file = lock_path_for(spec_path)
        if relock or not _fresh(lock_file, spec, groups):
            step("resolving the lock")
            lock(spec, spec_path, env_dir, groups=groups)
        step("syncing the environment to the lock")
        chosen.sync(env_dir, lock_file)
        marker.unlink()
    except BaseException:
        shutil.rmtree(env_dir, ignore_errors=True)
        raise
    now = time.time()
    record = Record(spec.name, str(env_dir), spec.backend, python.full, str(spec_path),
                    str(lock_path_for(spec_path)), now, now)  # fmt: skip
    registry.put(record)
    return record


def _fresh(lock_file: Path, spec: EnvSpec, groups: tuple[str, ...] | None) -> bool:
    if not lock_file.is_file():
        return False
    try:
        return read_lock(lock_file).spec_digest == header_for(spec, groups)["spec"]
    except LockError:
        return False


def sync(record: Record, spec: EnvSpec) -> None:
    """Make the environment match its lock exactly.

    Raises:
        LockError: The lock is missing or no longer matches the spec (lock again first).
    """
    lock_file = Path(record.lock)
    if not _fresh(lock_file, spec, None):
        raise LockError(f"{lock_file} does not match {record.spec}; run `envmgr lock` first")
    backend(record.backend).sync(Path(record.path), lock_file)


@dataclass
class CheckReport:
    """What ``check`` found; ``ok`` when nothing."""

    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    failed_imports: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    vulnerable: list[str] = field(default_factory=list)
    stale_lock: bool = False

    @property
    def ok(self) -> bool:
        return not any((self.missing, self.extra, self.mismatched, self.broken,
                        self.failed_imports, self.modified, self.vulnerable,
                        self.stale_lock))  # fmt: skip


_IMPORTS = (
    "import importlib, importlib.metadata as m, json, sys\n"
    "names = set(json.loads(sys.argv[1]))\n"
    "failed = []\n"
    "for d in m.distributions():\n"
    "    name = (d.metadata['Name'] or '').lower().replace('_', '-').replace('.', '-')\n"
    "    if name not in names: continue\n"
    "    top = (d.read_text('top_level.txt') or '').split()\n"
    "    if not top:\n"
    "        skip = ('.dist-info', '.data', '..', '__pycache__')\n"
    "        top = sorted({f.parts[0].removesuffix('.py') for f in (d.files or [])\n"
    "                      if f.parts and not f.parts[0].endswith(skip)\n"
    "                      and (f.suffix == '.py' or len(f.parts) > 1)})\n"
    "    for module in top:\n"
    "        if module.startswith('_') or not module.isidentifier(): continue\n"
    "        try: importlib.import_module(module)\n"
    "        except Exception as exc: failed.append(f'{module} ({d.metadata[\"Name\"]}): '\n"
    "                                               f'{type(exc).__name__}: {exc}')\n"
    "print(json.dumps(failed))\n"
)

#: Installed Python files whose bytes differ from the hash in their package's RECORD: edited
#: in place after installation (by hand, or by a tool writing through a hard link).
_MODIFIED = (
    "import base64, hashlib, importlib.metadata as m, json, sys\n"
    "names = set(json.loads(sys.argv[1]))\n"
    "changed = []\n"
    "for d in m.distributions():\n"
    "    name = (d.metadata['Name'] or '').lower().replace('_', '-').replace('.', '-')\n"
    "    if name not in names: continue\n"
    "    for f in d.files or []:\n"
    "        if f.hash is None or f.hash.mode != 'sha256' or f.suffix != '.py': continue\n"
    "        try: data = f.locate().read_bytes()\n"
    "        except OSError: changed.append(f'{f} ({name}): missing'); continue\n"
    "        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=')\n"
    "        if digest.decode() != f.hash.value: changed.append(f'{f} ({name})')\n"
    "print(json.dumps(sorted(changed)))\n"
)


def check(record: Record, spec: EnvSpec, advisories: Path | None = None) -> CheckReport:
    """Drift (installed against the lock), ``pip check``, an import of every top-level module
    the locked packages provide, Python files edited since installation (their RECORD
    hashes), and locked versions an advisory file names."""
    lock = read_lock(Path(record.lock))
    env_dir = Path(record.path)
    have = installed(env_dir)
    report = CheckReport(stale_lock=lock.spec_digest != header_for(spec, None)["spec"])
    report.missing = sorted(f"{n}=={v}" for n, v in lock.pins.items() if n not in have)
    report.extra = sorted(f"{n}=={v}" for n, v in have.items()
                          if n not in lock.pins and n not in SEEDED)  # fmt: skip
    report.mismatched = sorted(
        f"{n}: locked {v}, installed {have[n]}"
        for n, v in lock.pins.items()
        if n in have and have[n] != v
    )
    report.broken = backend(record.backend).problems(env_dir)
    out = run([str(env_python(env_dir)), "-c", _IMPORTS, json.dumps(sorted(lock.pins))],
              what="import smoke test")  # fmt: skip
    report.failed_imports = json.loads(out)
    out = run([str(env_python(env_dir)), "-c", _MODIFIED, json.dumps(sorted(lock.pins))],
              what="comparing files with their RECORD")  # fmt: skip
    report.modified = json.loads(out)
    if advisories is not None:
        report.vulnerable = vulnerable(lock, advisories)
    return report


def vulnerable(lock: Lock, advisories: Path) -> list[str]:
    """Locked versions an advisory file names: ``{"package": ["<2.32.0", ...]}`` (JSON).

    Raises:
        EnvmgrError: The file is unreadable or a specifier is malformed.
    """
    try:
        doc = json.loads(advisories.read_text())
    except (OSError, ValueError) as exc:
        raise EnvmgrError(f"{advisories}: not a readable advisory file ({exc})") from None
    if not isinstance(doc, dict):
        raise EnvmgrError(f"{advisories}: expected {{package: [specifiers]}}")
    found = []
    for package, ranges in doc.items():
        version = lock.pins.get(canonicalize_name(str(package)))
        if version is None:
            continue
        for spec in ranges if isinstance(ranges, list) else [ranges]:
            try:
                if version in SpecifierSet(str(spec)):
                    found.append(f"{package}=={version} is in an advisory range {spec}")
            except InvalidSpecifier:
                raise EnvmgrError(f"{advisories}: {package}: bad range {spec!r}") from None
    return sorted(found)


def size_on_disk(path: Path) -> int:
    """Bytes of the files under ``path`` (symlinks not followed)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            file = Path(root) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def human_size(size: int) -> str:
    """``31.6 kB``, ``22.9 MB``: bytes for a person."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def listing(registry: Registry) -> list[dict[str, Any]]:
    """Every managed environment with its size and whether its folder still exists."""
    rows = []
    for record in registry.load().values():
        path = Path(record.path)
        rows.append({**asdict(record), "exists": path.is_dir(),
                     "size_bytes": size_on_disk(path) if path.is_dir() else 0})  # fmt: skip
    return rows


def remove(registry: Registry, name: str) -> Record:
    """Delete an environment's folder and forget it."""
    record = registry.get(name)
    shutil.rmtree(record.path, ignore_errors=True)
    registry.drop(name)
    return record
