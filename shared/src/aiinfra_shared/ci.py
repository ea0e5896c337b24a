"""The CI matrix for forks: one job per package, narrowed to what a change touches.

``aiinfra ci matrix`` prints the matrix a GitHub Actions workflow expands: one entry per
package with the nox sessions of that package (``tests``, ``typecheck``, ``guide``), the
services its tests start, and the seconds they are expected to take. The entries' sessions plus
:data:`CHECK_SESSIONS` are exactly the sessions ``uv run nox`` runs (a repo test holds it to
that), so no workflow lists packages by hand.

Selection (``--base REF``): the packages whose folder (or ``kubernetes/<short>/``) changed
between ``REF`` and ``HEAD``; every package when something they all depend on changed (the
shared library, the root ``pyproject.toml``, ``uv.lock``, the noxfile, the CI files, the
system-deps script), as google-cloud-python's ``ci/`` selection and Airflow's selective checks
do. ``--all`` selects everything (the nightly run).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiinfra_shared import workspace
from aiinfra_shared.errors import AiinfraError

#: Sessions that check the whole repository, run once per change.
CHECK_SESSIONS = ("lint", "repo")
#: A change under any of these can break every package: test them all.
EVERYTHING = (
    "shared/",
    "pyproject.toml",
    "uv.lock",
    "noxfile.py",
    ".ci/",
    ".github/",
    "scripts/",
)


class CiError(AiinfraError):
    """The selection cannot be computed (not a git checkout, an unknown base ref)."""


def package_sessions(member: workspace.Member) -> list[str]:
    """The default nox sessions of one package (what its matrix job runs)."""
    sessions = [f"tests({member.short})", f"typecheck({member.short})"]
    if member.kind != "library":
        sessions.append(f"guide({member.short})")
    return sessions


def entry(member: workspace.Member, root: Path) -> dict[str, Any]:
    """One matrix entry."""
    return {
        "package": member.short,
        "id": member.id,
        "dist": member.dist,
        "folder": member.rel(root),
        "sessions": package_sessions(member),
        "services": list(member.services),
        "seconds": round(member.test_seconds + member.typecheck_seconds + member.guide_seconds),
    }


def changed_files(root: Path, base: str) -> list[str]:
    """Paths changed between ``base`` and ``HEAD`` (merge-base diff, as a pull request shows).

    Raises:
        CiError: git fails (not a checkout, an unknown ref).
    """
    done = subprocess.run(
        ["git", "diff", "--name-only", f"{base}...HEAD"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "git failed"
        raise CiError(f"cannot diff against {base!r}: {reason}")
    return [line for line in done.stdout.splitlines() if line]


@dataclass(frozen=True)
class Selection:
    """Which packages a change selects, and why."""

    members: list[workspace.Member]
    reason: str


def select(root: Path, files: list[str] | None) -> Selection:
    """The packages to test for ``files`` changed (None: all of them)."""
    members = workspace.discover(root)
    if files is None:
        return Selection(members, "--all")
    everything = sorted({f for f in files for prefix in EVERYTHING if f.startswith(prefix)})
    if everything:
        return Selection(members, f"{everything[0]} changed: every package")
    chosen = []
    for member in members:
        folders = (member.rel(root) + "/", f"kubernetes/{member.short}/")
        if any(f.startswith(folders) for f in files):
            chosen.append(member)
    names = ", ".join(m.short for m in chosen) or "no package"
    return Selection(chosen, f"{len(files)} changed file(s): {names}")


def matrix(root: Path, selection: Selection) -> dict[str, Any]:
    """The workflow's matrix: ``{"include": [...]}`` (an empty include means no package job)."""
    return {"include": [entry(m, root) for m in selection.members]}


def all_sessions(root: Path) -> list[str]:
    """Every session of the full matrix plus the checks: what ``uv run nox`` runs."""
    sessions = [s for m in workspace.discover(root) for s in package_sessions(m)]
    return sorted([*sessions, *CHECK_SESSIONS])
