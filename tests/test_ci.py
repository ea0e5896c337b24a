"""CI for forks: the matrix equals what `uv run nox` runs, the selection follows the change,
and the workflows pass actionlint and GitHub's workflow schema."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aiinfra_shared import ci

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _nox_default_sessions() -> list[str]:
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    # nox -l --json lists every session; the ones `uv run nox` runs are the default ones
    # (the gpu sessions are not).
    return sorted(
        s["session"] if "(" in s["session"] else s["name"]
        for s in json.loads(listed.stdout)
        if not s["name"].startswith(("gpu", "timings"))
    )


def test_the_full_matrix_is_exactly_the_sessions_nox_runs() -> None:
    assert ci.all_sessions(ROOT) == _nox_default_sessions()


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git copy of the workspace's package metadata (pyproject files and folders)."""
    pyprojects = [
        ROOT / "pyproject.toml",
        ROOT / "shared/pyproject.toml",
        *ROOT.glob("modules/*/*/pyproject.toml"),
        *ROOT.glob("projects/*/pyproject.toml"),
    ]
    for pyproject in pyprojects:
        target = tmp_path / pyproject.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pyproject, target)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# docs\n")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    _git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    return tmp_path


def _change(repo: Path, path: str) -> list[str]:
    """Commit a change to ``path``; the files changed since the commit before it."""
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text((target.read_text() if target.exists() else "") + "\n# changed\n")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "change")
    return ci.changed_files(repo, "HEAD~1")


@pytest.mark.parametrize(
    ("path", "selected"),
    [
        ("modules/mod-101-foundations/exercise-07-ml-api/src/mlapi/app.py", ["mlapi"]),
        ("projects/project-202-model-serving/README.md", ["servplat"]),
        ("kubernetes/modelop/base/rbac.yaml", ["modelop"]),
        ("docs/index.md", []),
        ("shared/src/aiinfra_shared/metrics.py", "all"),
        ("uv.lock", "all"),
        ("noxfile.py", "all"),
        (".github/workflows/ci.yml", "all"),
    ],
)
def test_a_change_selects_its_packages(repo: Path, path: str, selected: list[str] | str) -> None:
    files = _change(repo, path)
    assert files == [path]
    chosen = [m.short for m in ci.select(repo, files).members]
    if selected == "all":
        assert len(chosen) == len(ci.select(repo, None).members)
    else:
        assert chosen == selected
    entries = ci.matrix(repo, ci.select(repo, files))["include"]
    assert all({"package", "sessions", "services", "seconds"} <= set(e) for e in entries)


def test_an_unknown_base_is_a_clear_error(repo: Path) -> None:
    with pytest.raises(ci.CiError, match="cannot diff against 'nope'"):
        ci.changed_files(repo, "nope")


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_pass_actionlint_and_the_workflow_schema(workflow: Path) -> None:
    lint = subprocess.run(["actionlint", str(workflow)], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    schema = subprocess.run(
        ["check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_are_least_privilege_and_never_interpolate_into_run(workflow: Path) -> None:
    text = workflow.read_text()
    assert "permissions:\n  contents: read" in text
    run_lines = [line for line in text.splitlines() if line.strip().startswith("run:")]
    for line in run_lines:
        assert "${{" not in line, f"{workflow.name}: {line.strip()} (pass it through env:)"
    assert "@main" not in text  # actions pinned to a version
    assert "@master" not in text
