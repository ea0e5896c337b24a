"""Training, evaluation, selection and the registry, as plain functions (no Airflow)."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest
from airflowml.data import LABEL, generate
from airflowml.errors import AirflowmlError, NoModelError
from airflowml.features import FEATURES
from airflowml.registry import ModelRegistry
from airflowml.training import (
    champion_auc,
    check_params,
    choose_best,
    evaluate_candidate,
    load_spec,
    split,
    train_candidate,
)


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return split(generate(2000, 7), tmp_path_factory.mktemp("split"), seed=7)


def test_split_is_stratified_and_the_spec_is_fitted_on_train_only(paths: dict[str, str]) -> None:
    parts = {name: pd.read_csv(paths[name]) for name in ("train", "val", "test")}
    assert [len(parts[n]) for n in ("train", "val", "test")] == [1200, 400, 400]
    rates = [parts[n][LABEL].mean() for n in parts]
    assert max(rates) - min(rates) < 0.01
    assert list(parts["train"].columns) == [*FEATURES, LABEL]
    spec = load_spec(paths["spec"])
    assert spec.columns == FEATURES
    # The raw test rows are kept for the deployed model to build its own features from.
    assert len(pd.read_csv(paths["test_raw"])) == 400


def test_bad_grid_entries_are_refused_before_training() -> None:
    with pytest.raises(AirflowmlError, match="unknown model kind 'svm'"):
        check_params({"kind": "svm"})
    with pytest.raises(AirflowmlError, match="C must be > 0"):
        check_params({"kind": "logreg", "C": 0})
    with pytest.raises(AirflowmlError, match="max_depth"):
        check_params({"kind": "gbm", "max_depth": 40})


def test_the_best_validation_auc_wins(paths: dict[str, str], tmp_path: Path) -> None:
    grid = [{"kind": "logreg", "C": 1.0}, {"kind": "gbm", "max_depth": 1, "max_iter": 3}]
    evaluated = [
        evaluate_candidate(train_candidate(paths, p, tmp_path, seed=7), paths) for p in grid
    ]
    best = choose_best(evaluated)
    assert best["val"]["auc"] == max(c["val"]["auc"] for c in evaluated)
    assert best["name"] == "logreg-C=1.0"  # a 3-tree stump ensemble is clearly worse here
    assert 0.75 < best["val"]["auc"] < 0.95
    with pytest.raises(AirflowmlError, match="no candidates"):
        choose_best([])


def test_registry_versions_and_deploy(paths: dict[str, str], tmp_path: Path) -> None:
    trained = train_candidate(paths, {"kind": "logreg", "C": 1.0}, tmp_path / "m", seed=7)
    registry = ModelRegistry(tmp_path / "models", "churn")
    assert registry.current() is None
    with pytest.raises(NoModelError, match="no deployed version"):
        registry.require_current()
    v1 = registry.register(Path(trained["model_path"]), Path(paths["spec"]), {"note": "a"})
    v2 = registry.register(Path(trained["model_path"]), Path(paths["spec"]), {"note": "b"})
    assert (v1.version, v2.version) == (1, 2)
    assert registry.current() is None  # registered is not deployed
    registry.deploy(2, "test")
    current = registry.require_current()
    assert current.version == 2
    assert current.metadata["note"] == "b"
    # The deployed model scores raw rows through its own feature spec.
    auc = champion_auc(current, paths["test_raw"])
    assert 0.75 < auc < 0.95
    with pytest.raises(AirflowmlError, match="no version 9"):
        registry.deploy(9, "nope")
    assert registry.require_current().version == 2


def test_racing_registrations_get_distinct_versions(paths: dict[str, str], tmp_path: Path) -> None:
    trained = train_candidate(paths, {"kind": "logreg", "C": 1.0}, tmp_path / "m", seed=7)
    registry = ModelRegistry(tmp_path / "models", "race")
    threads = [
        threading.Thread(
            target=registry.register,
            args=(Path(trained["model_path"]), Path(paths["spec"]), {"i": i}),
        )
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    versions = registry.versions()
    assert [v.version for v in versions] == list(range(1, 9))
    assert sorted(v.metadata["i"] for v in versions) == list(range(8))
