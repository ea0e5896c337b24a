"""The template's GitHub Actions workflows: they lint clean, and their steps are run here,
line for line, on a clone of the template project (the runner's part: checkout, Python,
pip install, is what this environment already is)."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlcicd import project, registry
from mlcicd.config import Settings

WORKFLOWS = resources.files("mlcicd") / "template" / "github" / "workflows"
#: the steps this test runs; the others install tools or lint (ruff is the repo's own lint)
RUNNABLE = ("dvc ", "mlcicd ", "pytest ", "cat ")


def _runs(name: str) -> list[str]:
    doc = yaml.safe_load(WORKFLOWS.joinpath(name).read_text())
    return [s["run"] for job in doc["jobs"].values() for s in job["steps"] if "run" in s]


def _execute(lines: list[str], cwd: Path, env: dict[str, str]) -> list[tuple[str, int, str]]:
    results = []
    full = {**project.tool_env(), **env}
    for line in lines:
        if not line.startswith(RUNNABLE):
            continue
        done = subprocess.run(["bash", "-eo", "pipefail", "-c", line], cwd=cwd, env=full,
                              capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        results.append((line, done.returncode, done.stdout + done.stderr))
        if done.returncode != 0:
            break
    return results


@pytest.fixture
def clone(project_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "checkout"
    project.run(["git", "clone", "-q", str(project_dir), str(target)], tmp_path)
    return target


def _set_c(root: Path, value: str) -> None:
    params = root / "params.yaml"
    params.write_text(params.read_text().replace("C: 1.0", f"C: {value}"))


@pytest.mark.parametrize("name", ["pr.yml", "main.yml"])
def test_the_workflows_pass_actionlint_and_the_schema(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text(WORKFLOWS.joinpath(name).read_text())
    done = subprocess.run(["actionlint", "-shellcheck=", str(path)], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run(
        ["check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", ["pr.yml", "main.yml"])
def test_every_mlcicd_command_in_the_workflows_exists(name: str) -> None:
    for line in _runs(name):
        if not line.startswith("mlcicd "):
            continue
        words = line.split()
        command = [w for w in words[1:3] if not w.startswith("-") and not w.startswith('"')]
        help_text = subprocess.run(
            [sys.executable, "-m", "mlcicd", *command[:2], "--help"], capture_output=True,
            text=True, check=True, env={**os.environ, "COLUMNS": "200"},
        ).stdout  # fmt: skip
        for option in (w for w in words if w.startswith("--")):
            assert option in help_text, f"{line}: {option}"


@pytest.mark.integration
def test_the_pr_workflow_passes_a_good_change_and_posts_both_verdicts(
    clone: Path, tmp_path: Path
) -> None:
    project.run(["git", "checkout", "-q", "-b", "tune"], clone)
    project.run(["dvc", "pull", "-q"], clone)
    _set_c(clone, "0.5")
    project.commit(clone, "train: C=0.5")
    summary = tmp_path / "summary.md"
    ran = _execute(_runs("pr.yml"), clone,
                   {"GITHUB_BASE_REF": "main", "GITHUB_STEP_SUMMARY": str(summary)})  # fmt: skip
    assert [code for _, code, _ in ran] == [0] * len(ran), ran[-1]
    assert {line.split()[0] for line, _, _ in ran} == {"pytest", "dvc", "mlcicd", "cat"}
    assert len(ran) == len([r for r in _runs("pr.yml") if r.startswith(RUNNABLE)])
    text = summary.read_text()
    assert "### data gate: PASSED" in text
    assert "### model gate: PASSED" in text
    assert "train.C: 1.0 -> 0.5" in text, "the summary says what the PR changed"


@pytest.mark.integration
def test_the_pr_workflow_blocks_a_regression_at_the_model_gate(clone: Path, tmp_path: Path) -> None:
    project.run(["git", "checkout", "-q", "-b", "tiny"], clone)
    project.run(["dvc", "pull", "-q"], clone)
    params = clone / "params.yaml"
    text = params.read_text().replace("logistic_regression", "random_forest")
    params.write_text(text.replace("max_depth: 6", "max_depth: 1").replace(
        "n_estimators: 100", "n_estimators: 1"))  # fmt: skip
    project.commit(clone, "train: a tiny forest")
    # the steps before the gate ran in the test above: run the workflow's gate line itself
    gate = [line for line in _runs("pr.yml") if line.startswith("mlcicd gate model")]
    ran = _execute(gate, clone, {"GITHUB_BASE_REF": "main"})
    _line, code, output = ran[-1]
    assert code == 3
    assert "no_regression" in output
    assert "**FAIL**" in (clone / "gate-model.md").read_text()


@pytest.mark.integration
def test_the_main_workflow_trains_registers_smokes_and_canaries(
    clone: Path, tmp_path: Path, project_dir: Path
) -> None:
    env: dict[str, Any] = {"MLCICD_REGISTRY": str(tmp_path / "registry"),
                           "GITHUB_STEP_SUMMARY": str(tmp_path / "s.md")}  # fmt: skip
    project.run(["dvc", "pull", "-q"], clone)
    # what is in production before this push: the previous commit's model
    settings = Settings(registry=tmp_path / "registry")
    assert registry.register_project(settings, clone, alias=registry.PRODUCTION) == "1"
    _set_c(clone, "0.3")
    project.run(["git", "commit", "-q", "-am", "train: C=0.3"], clone)  # dvc repro is CI's job
    ran = _execute(_runs("main.yml"), clone, env)
    assert [code for _, code, _ in ran] == [0] * len(ran), ran[-1]
    deploy_output = ran[-2][2]
    assert ran[-2][0].startswith("mlcicd deploy")
    assert "version 2 is production" in deploy_output
    assert " 0 failed" in deploy_output
    aliases = {v["version"]: v["aliases"] for v in registry.versions(settings)}
    assert aliases == {"1": ["previous"], "2": ["production", "staging"]}
