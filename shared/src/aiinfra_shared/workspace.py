"""The workspace's packages, read from their ``[tool.aiinfra]`` tables.

This is the single source of truth the noxfile, the ``aiinfra`` CLI and the repo tests read:
nothing else lists the packages. Standard library only, so the noxfile can import it before
any environment exists.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiinfra_shared.errors import AiinfraError

ID_PATTERN = re.compile(r"^(\d{3}-\d{2}|\d{3})$")
SHORT_PATTERN = re.compile(r"^[a-z][a-z0-9]{1,30}$")
KINDS = ("exercise", "project", "library")
DEFAULT_TEST_SECONDS = 300.0
DEFAULT_TYPECHECK_SECONDS = 30.0
DEFAULT_GUIDE_SECONDS = 45.0


class WorkspaceError(AiinfraError):
    """The workspace or one of its members is malformed, or an id is unknown."""


@dataclass(frozen=True)
class Member:
    """One workspace package.

    Attributes:
        id: Curriculum id (``101-07``, ``201``) or ``shared`` for the library.
        short: Short name: distribution ``aiinfra-<short>``, import ``<short>``.
        dist: Distribution name.
        title: One-line title.
        path: Package folder.
        kind: ``exercise``, ``project`` or ``library``.
        services: Service launchers its tests need (and its demo, unless ``demo-services``
            says otherwise).
        demo_services: What ``aiinfra run`` starts for the demo (``demo-services``; default
            ``services``). A demo that starts its own configured instance (a Prometheus that
            scrapes the demo's exporter) lists ``[]``, so none is started twice.
        gpu: Whether it has GPU suites.
        demo: Command run by ``aiinfra run`` inside the package's environment.
        test_extras: Extras of the package installed for its test session.
        test_seconds: Rough wall time of its test session on a CI machine (``test-seconds``),
            used to balance the CI lanes; measure with ``uv run nox -s timings``.
        typecheck_seconds: The same for its ``typecheck`` session (``typecheck-seconds``).
        guide_seconds: The same for its ``guide`` session (``guide-seconds``).
    """

    id: str
    short: str
    dist: str
    title: str
    path: Path
    kind: str
    services: tuple[str, ...] = ()
    demo_services: tuple[str, ...] = ()
    gpu: bool = False
    demo: tuple[str, ...] = ()
    test_extras: tuple[str, ...] = ()
    test_seconds: float = DEFAULT_TEST_SECONDS
    typecheck_seconds: float = DEFAULT_TYPECHECK_SECONDS
    guide_seconds: float = DEFAULT_GUIDE_SECONDS
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def import_name(self) -> str:
        """The import package name (``import-name`` in the table, else the short name)."""
        return str(self.raw.get("import-name", self.short.replace("-", "_")))

    def rel(self, root: Path) -> str:
        """The folder relative to the workspace root, with forward slashes."""
        return self.path.relative_to(root).as_posix()


def find_root(start: Path | None = None) -> Path:
    """The workspace root: ``$AIINFRA_ROOT``, else the nearest parent whose pyproject.toml
    declares ``[tool.uv.workspace]``.

    Raises:
        WorkspaceError: When run outside the repository.
    """
    env_root = os.environ.get("AIINFRA_ROOT")
    if env_root:
        return Path(env_root).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            data = tomllib.loads(pyproject.read_text())
            if "workspace" in data.get("tool", {}).get("uv", {}):
                return folder
    raise WorkspaceError(
        "not inside the aiinfra-solutions repository (no pyproject.toml with "
        "[tool.uv.workspace] above the current folder); cd into the repo or set AIINFRA_ROOT"
    )


def member_dirs(root: Path) -> list[Path]:
    """Every folder matched by the workspace's member globs that holds a pyproject.toml."""
    data = tomllib.loads((root / "pyproject.toml").read_text())
    globs = data["tool"]["uv"]["workspace"]["members"]
    found: set[Path] = set()
    for pattern in globs:
        for path in root.glob(pattern):
            if (path / "pyproject.toml").is_file():
                found.add(path)
    return sorted(found)


def load_member(path: Path) -> Member:
    """Read one package's pyproject.toml.

    Raises:
        WorkspaceError: When ``[project]`` or ``[tool.aiinfra]`` is missing or malformed.
    """
    pyproject = path / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text())
    project = data.get("project", {})
    table = data.get("tool", {}).get("aiinfra")
    if not isinstance(table, dict):
        raise WorkspaceError(f"{pyproject}: missing [tool.aiinfra] table")
    dist = project.get("name", "")
    if not dist.startswith("aiinfra-"):
        raise WorkspaceError(f"{pyproject}: project.name must be 'aiinfra-<short>', got {dist!r}")
    short = dist.removeprefix("aiinfra-")
    kind = table.get("kind") or ("project" if path.parent.name == "projects" else "exercise")
    try:
        return Member(
            id=str(table["id"]),
            short=short,
            dist=dist,
            title=str(table["title"]),
            path=path,
            kind=kind,
            services=tuple(table.get("services", ())),
            demo_services=tuple(
                table["demo-services"] if "demo-services" in table else table.get("services", ())
            ),
            gpu=bool(table.get("gpu", False)),
            demo=tuple(table.get("demo", ())),
            test_extras=tuple(table.get("test-extras", ())),
            test_seconds=_seconds(
                pyproject, "test-seconds", table.get("test-seconds", DEFAULT_TEST_SECONDS)
            ),
            typecheck_seconds=_seconds(
                pyproject,
                "typecheck-seconds",
                table.get("typecheck-seconds", DEFAULT_TYPECHECK_SECONDS),
            ),
            guide_seconds=_seconds(
                pyproject, "guide-seconds", table.get("guide-seconds", DEFAULT_GUIDE_SECONDS)
            ),
            raw=table,
        )
    except KeyError as exc:
        raise WorkspaceError(f"{pyproject}: [tool.aiinfra] lacks {exc.args[0]!r}") from None


def _seconds(pyproject: Path, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise WorkspaceError(f"{pyproject}: {key} must be a positive number, got {value!r}")
    return float(value)


def lanes(weights: dict[str, float], count: int) -> dict[str, int]:
    """Split sessions into ``count`` lanes of similar total weight (longest first, each to the
    lightest lane; ties by name, so the split is stable).

    Returns:
        Session name → lane number (1-based).
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    totals = [0.0] * count
    lane_of: dict[str, int] = {}
    for name, weight in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0])):
        lightest = min(range(count), key=lambda i: (totals[i], i))
        totals[lightest] += weight
        lane_of[name] = lightest + 1
    return lane_of


def discover(root: Path | None = None) -> list[Member]:
    """All members, libraries first, then by id."""
    root = root or find_root()
    members = [load_member(path) for path in member_dirs(root)]
    return sorted(members, key=lambda m: (m.kind != "library", m.id))


def exercises(root: Path | None = None) -> list[Member]:
    """The members learners run (exercises and projects), by id."""
    return [m for m in discover(root) if m.kind != "library"]


def lookup(key: str, root: Path | None = None) -> Member:
    """Find a member by id (``101-07``) or short name (``mlapi``).

    Raises:
        WorkspaceError: When nothing matches; the message lists the known ids.
    """
    members = discover(root)
    for member in members:
        if key in (member.id, member.short, member.dist):
            return member
    known = ", ".join(m.id for m in members if m.kind != "library") or "none yet"
    raise WorkspaceError(f"no exercise {key!r}; known ids: {known} (see `aiinfra list`)")


def problems(member: Member, root: Path) -> list[str]:
    """What is wrong with a member's metadata and layout (empty when it is well formed)."""
    found: list[str] = []
    if member.kind not in KINDS:
        found.append(f"kind must be one of {KINDS}, got {member.kind!r}")
    if member.kind != "library" and not ID_PATTERN.match(member.id):
        found.append(f"id must look like 101-07 or 201, got {member.id!r}")
    if not SHORT_PATTERN.match(member.short):
        found.append(f"short name must be lowercase letters/digits, got {member.short!r}")
    if member.kind != "library":
        for needed in ("README.md", "tests", "docs/STEP_BY_STEP.md", f"src/{member.import_name}"):
            if not (member.path / needed).exists():
                found.append(f"missing {needed}")
        if not member.demo:
            found.append("[tool.aiinfra] needs demo = [...], the command `aiinfra run` runs")
    return found


def markdown_table(members: list[Member], root: Path) -> str:
    """The exercise table the README embeds (``aiinfra list --markdown``)."""
    lines = [
        "| id | package | title | services | GPU | folder |",
        "|---|---|---|---|---|---|",
    ]
    for m in members:
        services = ", ".join(m.services) or "-"
        gpu = "yes" if m.gpu else "no"
        folder = m.rel(root)
        lines.append(
            f"| {m.id} | `{m.dist}` | {m.title} | {services} | {gpu} | [{folder}]({folder}) |"
        )
    return "\n".join(lines)
