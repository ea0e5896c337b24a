"""The lock: every package pinned, with the hashes of the files it may be installed from.

The format is pip's hash-checking requirements file (what ``uv pip compile --generate-hashes``
writes and ``pip install --require-hashes`` reads), with a header envmgr reads back::

    # envmgr lock: name=churn python=3.11 backend=uv spec=3f2a9c1e0b7d4a55
    idna==3.10 \\
        --hash=sha256:946d195a0d259cbba61165e88e65941f16e9b36ea6ddb97f00452bae8b1287d3

``spec`` is a digest of what was asked for (requirements, indexes, Python): when the spec
changes, the lock is stale and ``create``/``sync`` say so.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from envmgr.errors import LockError
from envmgr.spec import Indexes

_HEADER = re.compile(r"^# envmgr lock: (.*)$")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")
_HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")


@dataclass
class Lock:
    """A parsed lock file."""

    header: dict[str, str] = field(default_factory=dict)
    pins: dict[str, str] = field(default_factory=dict)  # canonical name -> version
    hashes: dict[str, list[str]] = field(default_factory=dict)
    indexes: list[str] = field(default_factory=list)  # the --index-url lines

    @property
    def spec_digest(self) -> str:
        return self.header.get("spec", "")


def spec_digest(requirements: list[str], indexes: Indexes, python: str) -> str:
    """A digest of what a lock must satisfy (requirements in any order)."""
    text = "\n".join(sorted(requirements)) + f"|{indexes.primary}|" + "\n".join(indexes.extra)
    text += "|" + python
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def header_line(**values: str) -> str:
    return "# envmgr lock: " + " ".join(f"{k}={v}" for k, v in values.items())


def read_lock(path: Path) -> Lock:
    """Parse a lock file.

    Raises:
        LockError: Missing, or a pinned line without a hash (pip would refuse to install it).
    """
    if not path.is_file():
        raise LockError(f"{path}: no lock file; run `envmgr lock` first")
    lock = Lock()
    current: str | None = None
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if header := _HEADER.match(line):
            lock.header = dict(
                part.split("=", 1) for part in header.group(1).split() if "=" in part
            )
            continue
        if not line or line.startswith("#"):
            continue
        if pin := _PIN.match(line):
            current = canonicalize_name(pin.group(1))
            lock.pins[current] = pin.group(3)
            lock.hashes.setdefault(current, [])
        elif line.startswith("--index-url") or line.startswith("--extra-index-url"):
            lock.indexes.append(line)
            continue
        elif not line.startswith("--") or current is None:
            raise LockError(f"{path}:{number}: not a pinned requirement: {line!r}")
        lock.hashes[current].extend(_HASH.findall(line))
    missing = [name for name in lock.pins if not lock.hashes.get(name)]
    if missing:
        raise LockError(f"{path}: no hash for {', '.join(missing)} (a lock must be hash-checked)")
    return lock


def write_lock(path: Path, header: dict[str, str], pins: dict[str, tuple[str, list[str]]],
               indexes: Indexes) -> None:  # fmt: skip
    """Write ``name==version`` lines with their hashes, sorted, under the header and the index
    options (pip and uv read ``--index-url`` lines in a requirements file), atomically."""
    lines = [header_line(**header), "# Regenerate with `envmgr lock`; install with "
             "`pip install --require-hashes --no-deps -r` this file."]  # fmt: skip
    options = indexes.pip_args()
    lines += [f"{flag} {url}" for flag, url in zip(options[::2], options[1::2], strict=True)]
    for name in sorted(pins):
        version, hashes = pins[name]
        if not hashes:
            raise LockError(f"no hash for {name}=={version}: cannot write a hash-checked lock")
        lines.append(f"{name}=={version} \\")
        lines += [f"    --hash={h} \\" for h in sorted(set(hashes))[:-1]]
        lines.append(f"    --hash={sorted(set(hashes))[-1]}")
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)


def stamp(path: Path, header: dict[str, str]) -> None:
    """Put envmgr's header on a lock a tool wrote (uv's, which has its own comments)."""
    body = [ln for ln in path.read_text().splitlines() if not _HEADER.match(ln.strip())]
    path.write_text("\n".join([header_line(**header), *body]) + "\n")
