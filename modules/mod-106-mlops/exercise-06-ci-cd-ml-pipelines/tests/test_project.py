"""The template project with the real git and DVC: versioned data, a reproducible pipeline,
a remote that restores what was pushed, and diffs between commits."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from mlcicd import project
from mlcicd.errors import MlcicdError


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324 - what DVC records


@pytest.fixture
def clone(project_dir: Path, tmp_path: Path) -> Path:
    """A git clone of the session project (sharing its DVC remote), like a CI checkout."""
    target = tmp_path / "clone"
    project.run(["git", "clone", "-q", str(project_dir), str(target)], tmp_path)
    return target


def test_init_versions_data_and_pipeline_in_git_and_dvc(project_dir: Path) -> None:
    tracked = project.run(["git", "ls-files"], project_dir).split()
    for name in ("dvc.yaml", "dvc.lock", "params.yaml", "metrics.json", "data/raw.csv.dvc",
                 ".github/workflows/pr.yml", ".github/workflows/main.yml"):  # fmt: skip
        assert name in tracked
    assert "data/raw.csv" not in tracked, "data lives in DVC, not git"
    lock = yaml.safe_load((project_dir / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"prepare", "train", "evaluate"}
    raw = yaml.safe_load((project_dir / "data" / "raw.csv.dvc").read_text())
    assert raw["outs"][0]["md5"] == _md5(project_dir / "data" / "raw.csv")
    status = project.run(["dvc", "status", "--json"], project_dir)
    assert json.loads(status) == {}, "the committed pipeline is up to date"
    metrics = json.loads((project_dir / "metrics.json").read_text())
    assert metrics["roc_auc"] > 0.8


def test_a_clone_pulls_identical_data_and_model_from_the_remote(
    project_dir: Path, clone: Path
) -> None:
    assert not (clone / "data" / "raw.csv").exists(), "git alone does not carry the data"
    shutil.rmtree(project_dir / ".dvc" / "cache", ignore_errors=True)  # only the remote has it
    project.run(["dvc", "pull", "-q"], clone)
    for name in ("data/raw.csv", "data/prepared/train.csv", "models/model.pkl"):
        assert _md5(clone / name) == _md5(project_dir / name), name
    assert json.loads(project.run(["dvc", "status", "--json"], clone)) == {}
    project.run(["dvc", "checkout", "-q"], project_dir)  # the session project's cache back


def test_a_params_change_shows_in_params_and_metrics_diff(clone: Path) -> None:
    project.run(["dvc", "pull", "-q"], clone)
    params = clone / "params.yaml"
    params.write_text(params.read_text().replace("C: 1.0", "C: 0.01"))
    project.commit(clone, "train: C=0.01")
    assert project.params_diff(clone, "HEAD~1") == {
        "train.C": {"old": 1.0, "new": 0.01, "diff": pytest.approx(-0.99)}
    }
    metrics = project.metrics_diff(clone, "HEAD~1")
    assert set(metrics) >= {"roc_auc", "f1", "latency_p95_ms"}
    old = json.loads(project.run(["git", "show", "HEAD~1:metrics.json"], clone))
    assert project.baseline(clone, "HEAD~1") == pytest.approx(old)
    lock = project.run(["git", "show", "--stat", "HEAD"], clone)
    assert "dvc.lock" in lock, "the new model's hash is committed"


def test_a_params_file_with_a_wrong_type_fails_the_stage_with_its_name(clone: Path) -> None:
    project.run(["dvc", "pull", "-q"], clone)
    model = clone / "models" / "model.pkl"
    before = _md5(model)
    params = clone / "params.yaml"
    params.write_text(params.read_text().replace("C: 1.0", "C: lots"))
    with pytest.raises(MlcicdError, match=r"dvc repro.*train\.C"):
        project.run(["dvc", "repro", "-q"], clone)
    # DVC removed the stage's output before running it; the accepted model is in its cache
    project.run(["git", "checkout", "-q", "params.yaml"], clone)
    project.run(["dvc", "checkout", "-q"], clone)
    assert _md5(model) == before


def test_corrupted_raw_data_stops_the_pipeline_with_the_reason(clone: Path) -> None:
    project.run(["dvc", "pull", "-q"], clone)
    raw = clone / "data" / "raw.csv"
    raw.unlink()  # DVC links outputs from its cache: replace the file, never edit it in place
    raw.write_bytes(b"income,age\n\x00\x01\x02,not-a-number\n")
    with pytest.raises(MlcicdError, match=r"schema"):
        project.run(["dvc", "repro", "-q"], clone)


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(MlcicdError, match="not empty"):
        project.init(tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_a_missing_base_revision_is_a_clear_error(project_dir: Path) -> None:
    with pytest.raises(MlcicdError, match="no-such-branch"):
        project.metrics_diff(project_dir, "no-such-branch")
