"""The ONE noxfile: sessions are discovered from the members' [tool.aiinfra] tables.

    uv run nox -l                          list sessions
    uv run nox                             what CI runs (lint, repo, every typecheck(...) and
                                           tests(...))
    uv run nox -s "tests(mlapi)"           one package, in its own exact environment
    uv run nox -s "tests(mlapi)" -- tests/test_api.py -k health
                                           pytest arguments, relative to the package folder
    uv run nox -s "typecheck(mlapi)"       mypy --strict on one package, in its environment
    uv run nox -s "guide(mlapi)"           the quick checkpoints of its step-by-step guide
    uv run nox -s "guide(mlapi)" -- --all  every checkpoint, the slow ones too
    uv run nox -s "gpu(ddptrain)"          GPU suites (fail, not skip, without CUDA)
    uv run nox -t lane-1                   half of what CI runs (CI runs both lanes at once)

Each ``tests(<short>)`` session installs exactly that package, its ``test`` dependency group
and the extras its table names, from the workspace lock, into the session's own venv
(``uv sync --locked --exact``): an import it does not declare fails there, so no
dependency is ghosted in from a neighbour. pytest runs in the package's folder, so test paths
after ``--`` are the ones a learner sees there (``tests/test_api.py::test_health``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nox

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "shared" / "src"))
from aiinfra_shared.workspace import Member, discover, lanes  # noqa: E402  (stdlib-only)

nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

MEMBERS = discover(ROOT)
TESTED = MEMBERS
GUIDED = [m for m in MEMBERS if m.kind != "library"]
GPU = [m for m in MEMBERS if m.gpu]
TIMINGS = ROOT / ".nox" / "timings.tsv"
PYTHON = "3.11"

# CI runs the default sessions in two lanes at once (the machine has two cores and most of a
# test session waits on a server or a subprocess). Each session goes to a lane by its expected
# wall time: ``test-seconds`` in a package's [tool.aiinfra] table, and these for the others
# (seconds as .nox/timings.tsv records them on a CI run; refresh them from there).
LANES = 2
CHECK_SECONDS = {"lint": 1.0, "repo": 5.0}
LANE = lanes(
    {
        **{f"tests({m.short})": m.test_seconds for m in TESTED},
        **{f"typecheck({m.short})": m.typecheck_seconds for m in TESTED},
        **{f"guide({m.short})": m.guide_seconds for m in GUIDED},
        **CHECK_SECONDS,
    },
    LANES,
)


def _lane(session_name: str) -> str:
    return f"lane-{LANE[session_name]}"


def _record(session: nox.Session, started: float) -> None:
    TIMINGS.parent.mkdir(exist_ok=True)
    with TIMINGS.open("a") as out:
        out.write(f"{session.name}\t{time.monotonic() - started:.1f}\n")


def _sync(session: nox.Session, *args: str) -> None:
    """``uv sync`` the workspace lock into this session's venv (exact: nothing else stays)."""
    session.run_install(
        "uv",
        "sync",
        "--locked",
        "--exact",
        "--no-default-groups",
        *args,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


def _install_member(session: nox.Session, member: Member) -> None:
    """The package, its ``test`` group and the extras its table names; nothing else."""
    extras = [arg for extra in member.test_extras for arg in ("--extra", extra)]
    _sync(session, "--package", member.dist, "--group", "test", *extras)


def _pytest_env() -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE="" lets the first import in a session venv write .pyc files, so
    # the server subprocesses a test starts do not re-parse torch & co. from source each time.
    # AIINFRA_MODEL_CACHE: models the tests build or convert (the tiny LLM, SmolLM2) are built
    # once per run and shared by every session, like the uv cache (the model_cache fixture).
    return {
        "HF_HUB_OFFLINE": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
        "PYTHONDONTWRITEBYTECODE": "",
        "AIINFRA_MODEL_CACHE": str(ROOT / ".nox" / "model-cache"),
    }


@nox.session(python=PYTHON, tags=["tests"])
@nox.parametrize(
    "pkg",
    [nox.param(m.short, id=m.short, tags=[_lane(f"tests({m.short})")]) for m in TESTED],
)
def tests(session: nox.Session, pkg: str) -> None:
    """One package's tests in its own exact environment."""
    started = time.monotonic()
    member = next(m for m in TESTED if m.short == pkg)
    _install_member(session, member)
    # In the package's folder: without a path pytest collects its tests/ (test_*.py live
    # nowhere else), and `-- tests/test_api.py::test_health` means what it means there.
    session.chdir(member.path)
    session.run(
        "python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env=_pytest_env(),
    )
    _record(session, started)


@nox.session(python=PYTHON, tags=["typecheck"])
@nox.parametrize(
    "pkg",
    [nox.param(m.short, id=m.short, tags=[_lane(f"typecheck({m.short})")]) for m in TESTED],
)
def typecheck(session: nox.Session, pkg: str) -> None:
    """mypy --strict on one package's src/, in the package's own exact environment."""
    started = time.monotonic()
    member = next(m for m in TESTED if m.short == pkg)
    extras = [arg for extra in member.test_extras for arg in ("--extra", extra)]
    _sync(session, "--package", member.dist, "--group", "test", "--group", "typecheck", *extras)
    # One mypy cache per lane (two lanes never write one cache at once): torch, pydantic & co.
    # are analysed once per lane, not once per package.
    cache = ROOT / ".nox" / f"mypy-cache-{LANE[session.name]}"
    session.run("mypy", "--cache-dir", str(cache), f"{member.rel(ROOT)}/src")
    _record(session, started)


@nox.session(python=False, tags=["guides"])
@nox.parametrize(
    "pkg", [nox.param(m.short, id=m.short, tags=[_lane(f"guide({m.short})")]) for m in GUIDED]
)
def guide(session: nox.Session, pkg: str) -> None:
    """The checkpoints of one package's docs/STEP_BY_STEP.md, as a new clone would run them.

    ``aiinfra guide check <id> --quick --fresh``: throwaway package environments, the slow
    checkpoints left out (``-- --all`` runs them too). It runs in the root environment, where
    ``aiinfra`` is, like the commands a learner types.
    """
    started = time.monotonic()
    member = next(m for m in GUIDED if m.short == pkg)
    quick = [] if "--all" in session.posargs else ["--quick"]
    # The models the tests build, shared with the tests sessions of the same run.
    env = {"AIINFRA_MODEL_CACHE": _pytest_env()["AIINFRA_MODEL_CACHE"], "HF_HUB_OFFLINE": "1"}
    session.run("aiinfra", "guide", "check", member.id, "--fresh", *quick, external=True, env=env)
    _record(session, started)


if GPU:

    @nox.session(python=PYTHON, tags=["gpu"], default=False)
    @nox.parametrize("pkg", [m.short for m in GPU], ids=[m.short for m in GPU])
    def gpu(session: nox.Session, pkg: str) -> None:
        """Only the gpu-marked tests, failing (not skipping) when CUDA is absent."""
        member = next(m for m in GPU if m.short == pkg)
        _install_member(session, member)
        session.chdir(member.path)
        # --require-gpu: a gpu test that would skip (no CUDA, no vLLM) fails with the reason.
        session.run(
            "python",
            "-m",
            "pytest",
            "-m",
            "gpu",
            "--require-gpu",
            *session.posargs,
            env=_pytest_env(),
        )


@nox.session(python=PYTHON, tags=[_lane("lint")])
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole repository."""
    started = time.monotonic()
    _sync(session, "--only-group", "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    _record(session, started)


@nox.session(python=PYTHON, tags=[_lane("repo")])
def repo(session: nox.Session) -> None:
    """Repo-wide checks: layout, metadata, README table, manifests, Dockerfiles."""
    started = time.monotonic()
    _sync(session, "--only-group", "repo")
    session.run("python", "-m", "pytest", "tests", "-p", "no:cacheprovider", *session.posargs)
    _record(session, started)


@nox.session(python=False, default=False)
def timings(session: nox.Session) -> None:
    """Print the per-session wall times recorded by the last runs."""
    if not TIMINGS.exists():
        session.log("no timings recorded yet")
        return
    rows = [line.split("\t") for line in TIMINGS.read_text().splitlines() if line]
    width = max(len(name) for name, _ in rows)
    print(f"{'session'.ljust(width)}  seconds")
    for name, seconds in rows:
        print(f"{name.ljust(width)}  {float(seconds):7.1f}")
    print(f"{'total'.ljust(width)}  {sum(float(s) for _, s in rows):7.1f}")
