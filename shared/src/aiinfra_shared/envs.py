"""Each package's own environment, ``.venvs/<short>``, for learners and demos.

``aiinfra run``, ``aiinfra exec`` and ``aiinfra shell`` all use it, so what a learner runs never
depends on what ran before: the root ``.venv`` stays the dev tools (nox, ruff, this CLI), and
``uv run --package X`` (which would turn the root environment into package X's) is never
needed.

The environment holds the package, its ``test`` dependency group (pytest, so a learner can run
the package's tests by hand) and the extras its ``[tool.aiinfra]`` table names for tests, from
the workspace lock. It is synced again only when ``uv.lock`` or the package's
``pyproject.toml`` changed since the last sync (or an extra is asked for), so ``aiinfra exec``
starts in well under a second when nothing changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aiinfra_shared import workspace
from aiinfra_shared.errors import AiinfraError

STAMP = ".aiinfra-sync.json"


class EnvError(AiinfraError):
    """A package environment could not be built or a command could not be run in it."""


def venvs_root(root: Path) -> Path:
    """Where package environments live: ``$AIINFRA_VENVS`` or ``<repo>/.venvs``."""
    override = os.environ.get("AIINFRA_VENVS")
    return Path(override).resolve() if override else root / ".venvs"


def venv_dir(root: Path, member: workspace.Member) -> Path:
    """The package's environment folder."""
    return venvs_root(root) / member.short


def bin_dir(venv: Path) -> Path:
    """The folder of the environment's executables."""
    return venv / ("Scripts" if os.name == "nt" else "bin")


def _fingerprint(root: Path, member: workspace.Member, extras: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for path in (root / "uv.lock", member.path / "pyproject.toml", root / "pyproject.toml"):
        if path.is_file():
            digest.update(path.read_bytes())
    digest.update(json.dumps(sorted(extras)).encode())
    return digest.hexdigest()


def _synced_extras(venv: Path) -> set[str]:
    try:
        return set(json.loads((venv / STAMP).read_text()).get("extras", []))
    except (OSError, ValueError):
        return set()


def sync(
    root: Path,
    member: workspace.Member,
    extras: Sequence[str] = (),
    *,
    quiet: bool = True,
    force: bool = False,
) -> Path:
    """Make ``.venvs/<short>`` hold exactly the package, its test group and its extras.

    Extras asked for earlier stay (``aiinfra run 107-06 --extra ray`` then ``aiinfra exec
    107-06 ...`` keeps Ray).

    Args:
        root: The workspace root.
        member: The package.
        extras: Extras of the package to install on top of its test extras.
        quiet: Pass ``--quiet`` to uv.
        force: Sync even when nothing changed since the last sync.

    Returns:
        The environment folder.

    Raises:
        EnvError: uv is missing or the sync failed.
    """
    uv = shutil.which("uv")
    if uv is None:
        raise EnvError("uv is not installed: `pip install uv` (https://docs.astral.sh/uv/)")
    venv = venv_dir(root, member)
    wanted = sorted({*member.test_extras, *extras, *_synced_extras(venv)})
    fingerprint = _fingerprint(root, member, wanted)
    stamp = venv / STAMP
    if not force and (bin_dir(venv) / "python").exists() and stamp.is_file():
        try:
            if json.loads(stamp.read_text()).get("fingerprint") == fingerprint:
                return venv
        except ValueError:
            pass
    command = [uv, "sync", "--package", member.dist, "--no-default-groups"]
    command += ["--group", "test"]
    for extra in wanted:
        command += ["--extra", extra]
    if quiet:
        command.append("--quiet")
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(command, cwd=root, env=env, check=False)
    if result.returncode != 0:
        raise EnvError(f"`{' '.join(command)}` failed (exit {result.returncode})")
    stamp.write_text(json.dumps({"fingerprint": fingerprint, "extras": wanted}))
    return venv


def environment(root: Path, venv: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment of a command run "inside" ``venv`` (as if activated)."""
    env = dict(os.environ)
    env.update(
        {
            "AIINFRA_ROOT": str(root),
            "VIRTUAL_ENV": str(venv),
            # cleared so the first run writes .pyc files and later runs start in seconds
            "PYTHONDONTWRITEBYTECODE": "",
            # Ray starts workers with `uv run` when the driver runs under uv: not inside this
            # environment (its workers would resolve the workspace and never start).
            "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
        }
    )
    env.pop("PYTHONHOME", None)
    env["PATH"] = f"{bin_dir(venv)}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def resolve(command: str, venv: Path, env: Mapping[str, str]) -> str:
    """The executable ``command`` names, looked up in the environment first.

    Raises:
        EnvError: Nothing of that name exists (one line, with what the package offers).
    """
    if os.sep in command:
        return command
    found = shutil.which(command, path=env.get("PATH"))
    if found is None:
        scripts = sorted(
            p.name
            for p in bin_dir(venv).iterdir()
            if p.is_file()
            and os.access(p, os.X_OK)
            and p.suffix not in {".bat", ".ps1", ".csh", ".fish", ".nu"}
            and not p.name.startswith(("activate", "python", "pip", "Activate", "deactivate"))
        )
        hint = ", ".join(scripts[:12]) + (" ..." if len(scripts) > 12 else "")
        raise EnvError(f"no command {command!r} in {venv.name}'s environment (it has: {hint})")
    return found


#: Seconds a child is given to stop what it started after a SIGTERM, before SIGKILL.
CHILD_GRACE_S = 30.0


def call(command: Sequence[str], **popen: Any) -> int:
    """Run ``command`` and return its exit code, like ``subprocess.call``, but stop it gently.

    ``subprocess.call`` answers any exception in the wait (a SIGTERM turned into an
    exception, Ctrl+C) by SIGKILLing the child at once. A child that started services in
    their own process groups (a demo, ``aiinfra service``) then dies before it can stop
    them, and they outlive everything. Here the child gets SIGTERM and up to
    :data:`CHILD_GRACE_S` seconds to clean up; SIGKILL only after that.
    """
    child = subprocess.Popen(list(command), **popen)
    try:
        return child.wait()
    except BaseException:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=CHILD_GRACE_S)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        raise


def run_in(
    root: Path,
    member: workspace.Member,
    argv: Sequence[str],
    *,
    extras: Sequence[str] = (),
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run ``argv`` in the package's environment and folder; its exit code.

    Raises:
        EnvError: No command given, or it does not exist.
    """
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise EnvError("no command given: aiinfra exec <id> -- <command> [args...]")
    venv = sync(root, member, extras)
    process_env = environment(root, venv, env)
    executable = resolve(argv[0], venv, process_env)
    return call([executable, *argv[1:]], cwd=cwd or member.path, env=process_env)
