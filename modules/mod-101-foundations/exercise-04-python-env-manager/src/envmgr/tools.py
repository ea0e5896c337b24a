"""Finding and running the real tools: Pythons, uv, pip, poetry, conda, hadolint.

Nothing here pretends: a tool that is not installed is reported as missing with the reason,
and every command's failure carries the tool's own explanation (the resolver's, for a
conflict) in one :class:`~envmgr.errors.ToolError` message.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from envmgr.errors import PythonNotFoundError, ToolError

#: Never let uv fetch a Python build from the internet: an environment uses what is installed.
NO_DOWNLOADS = {"UV_PYTHON_DOWNLOADS": "never", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def executable(name: str) -> str | None:
    """``name`` beside this interpreter (a tool installed with envmgr), else on PATH."""
    here = Path(sys.executable).parent / name
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which(name)


def run(cmd: Sequence[str], *, what: str, cwd: Path | None = None,
        env: dict[str, str] | None = None, timeout: float = 900) -> str:  # fmt: skip
    """Run a tool; its stdout, or :class:`ToolError` with the last lines it printed.

    Raises:
        ToolError: It exited non-zero, timed out or is not installed.
    """
    full_env = {**os.environ, **NO_DOWNLOADS, **(env or {})}
    try:
        done = subprocess.run(list(cmd), cwd=cwd, env=full_env, capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip
    except FileNotFoundError:
        raise ToolError(f"{what}: {cmd[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"{what}: no answer within {timeout:g} s") from None
    if done.returncode != 0:
        raise ToolError(f"{what} failed: {explain(done.stderr or done.stdout)}")
    return done.stdout


def explain(output: str, limit: int = 600) -> str:
    """A tool's error output as one line: the lines that say why, joined, ANSI codes and
    progress noise dropped (uv's resolver explanation, pip's ``ResolutionImpossible``)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", output)
    lines = [ln.strip() for ln in text.splitlines()]
    noise = ("Using ", "Resolved ", "Downloading", "Prepared ", "Installed ", "Audited")
    keep = [ln for ln in lines if ln and not ln.startswith(noise)]
    reason = " ".join(keep) or "no output"
    return reason if len(reason) <= limit else reason[: limit - 3] + "..."


@dataclass(frozen=True)
class Python:
    """An installed interpreter."""

    version: str  # "3.11"
    full: str  # "3.11.7"
    path: str


def _probe(path: str) -> str | None:
    """The full version an interpreter reports, or None when it does not run (a pyenv shim
    exists for every version pyenv knows, whether or not it is selected)."""
    try:
        return run([path, "-c", "import platform; print(platform.python_version())"],
                   what=path, timeout=30).strip()  # fmt: skip
    except ToolError:
        return None


def _uv_pythons() -> list[Python]:
    """uv's list of installed interpreters (it searches more places, and takes ~0.5 s)."""
    uv = executable("uv")
    if not uv:
        return []
    try:
        out = run([uv, "python", "list", "--only-installed", "--output-format", "json"],
                  what="uv python list", timeout=60)  # fmt: skip
        return [Python(f"{i['version_parts']['major']}.{i['version_parts']['minor']}",
                       i["version"], i["path"])
                for i in json.loads(out)
                if i.get("implementation") == "cpython" and i.get("path")]  # fmt: skip
    except (ToolError, ValueError, KeyError):
        return []


def pythons(version: str | None = None) -> list[Python]:
    """Every CPython found here (only ``version``'s, when given): ``python3.X`` on PATH,
    pyenv's installed versions (selected or not), then uv's list when that found none."""
    found: list[Python] = []
    minors = range(8, 16) if version is None else [int(version.split(".")[1])]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for minor in minors:
        candidates = [shutil.which(f"python3.{minor}")]
        candidates += [str(p) for p in sorted(pyenv.glob(f"3.{minor}.*/bin/python3.{minor}"))]
        for path in candidates:
            if path and (full := _probe(path)):
                found.append(Python(f"3.{minor}", full, path))
    if version is None or not found:
        found += [p for p in _uv_pythons() if version is None or p.version == version]
    # One row per interpreter build (shims and symlinks collapse onto the first found), and
    # never a virtual environment's python: an environment is built from a base interpreter.
    unique: dict[str, Python] = {}
    for python in found:
        if (Path(python.path).parent.parent / "pyvenv.cfg").is_file():
            continue
        unique.setdefault(python.full, python)
    return sorted(unique.values(), key=lambda p: (Version(p.full), p.path))


def find_python(version: str) -> Python:
    """The interpreter for ``version`` ("3.11").

    Raises:
        PythonNotFoundError: None installed; the message names what is.
    """
    for python in reversed(pythons(version)):  # the newest patch release of that version
        if python.version == version:
            return python
    every = pythons()
    have = ", ".join(sorted({p.version for p in every})) or "none"
    raise PythonNotFoundError(
        f"Python {version} is not installed here (available: {have}); install it or set "
        "python in the spec to one of those"
    )


def tool_version(cmd: Sequence[str]) -> str | None:
    """The first line a ``--version`` prints, or None when the tool is missing or fails."""
    try:
        return run(cmd, what=cmd[0], timeout=60).strip().splitlines()[0]
    except (ToolError, IndexError):
        return None


def env_python(env_dir: Path) -> Path:
    """The interpreter inside an environment folder."""
    return env_dir / "bin" / "python"
