"""Runs on the real server: everything logged can be read back through ``MlflowClient``."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest
from exptrack.data import Dataset
from exptrack.models import ModelSpec
from exptrack.sweep import run_sweep
from exptrack.train import train_run
from mlflow import MlflowClient

pytestmark = pytest.mark.integration


def test_run_is_readable_back(experiment: str, data: Dataset, tmp_path: Path) -> None:
    result = train_run(ModelSpec.parse("gbm", "n_estimators=25"), data)
    client = MlflowClient()
    run = client.get_run(result.run_id)

    assert run.info.status == "FINISHED"
    assert run.data.params["model_kind"] == "gbm"
    assert run.data.params["n_estimators"] == "25"
    assert run.data.params["dataset"] == "breast_cancer"
    assert run.data.tags["data_hash"] == data.digest
    assert len(run.data.tags["git_sha"]) in (40, 7) or run.data.tags["git_sha"] == "unknown"
    assert run.data.tags["run_kind"] == "train"
    for key in ("val_accuracy", "val_f1", "val_precision", "val_recall", "val_roc_auc"):
        assert run.data.metrics[key] == pytest.approx(result.metrics[key])

    # One point per boosting stage, in order, with the values the model produced.
    history = client.get_metric_history(result.run_id, "val_loss")
    assert sorted(m.step for m in history) == list(range(25))
    assert history[0].value > min(m.value for m in history)

    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {
        "confusion_matrix.png",
        "feature_importance.json",
        "feature_importance.png",
    } <= artifacts
    local = mlflow.artifacts.download_artifacts(
        run_id=result.run_id, artifact_path="feature_importance.json", dst_path=str(tmp_path)
    )
    importances = json.loads(Path(local).read_text())
    assert set(importances) == set(data.features)
    png = mlflow.artifacts.download_artifacts(
        run_id=result.run_id, artifact_path="confusion_matrix.png", dst_path=str(tmp_path)
    )
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Inputs: the training and validation sets are linked to the run.
    contexts = {
        tag.value
        for inp in run.inputs.dataset_inputs
        for tag in inp.tags
        if tag.key == "mlflow.data.context"
    }
    assert contexts == {"training", "validation"}

    # The model: signature, input example, and it predicts what the metrics say.
    model = mlflow.pyfunc.load_model(result.model_uri)
    assert model.metadata.get_input_schema().input_names() == data.features
    x, y = data.xy("val")
    assert np.mean(np.asarray(model.predict(x)) == y) == pytest.approx(
        result.metrics["val_accuracy"]
    )


def test_sweep_nests_trials_under_one_parent(experiment: str, data: Dataset) -> None:
    trials = ["logreg:epochs=5", "forest:n_estimators=20,max_depth=2", "mlp:epochs=5"]
    sweep = run_sweep(data, trials, metric="val_f1")
    client = MlflowClient()
    exp = client.get_experiment_by_name(experiment)
    children = client.search_runs(
        [exp.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{sweep.parent_run_id}'"
    )
    assert len(children) == 3
    assert {c.data.tags["model_kind"] for c in children} == {"logreg", "forest", "mlp"}
    best = max(children, key=lambda c: c.data.metrics["val_f1"])
    parent = client.get_run(sweep.parent_run_id)
    assert parent.data.tags["run_kind"] == "sweep"
    assert parent.data.tags["best_run_id"] == best.info.run_id == sweep.best.run_id
    assert parent.data.metrics["best_val_f1"] == pytest.approx(best.data.metrics["val_f1"])
