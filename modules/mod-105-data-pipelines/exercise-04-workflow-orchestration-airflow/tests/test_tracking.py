"""MLflow logging of a registered version, through a real pipeline run."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflowml.config import AirflowmlSettings
from airflowml.registry import ModelRegistry
from airflowml.runner import run_dag

pytestmark = pytest.mark.integration


@pytest.fixture
def tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """MLflow's SQLite store (the same client API a server has); tasks read the env var."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("AIRFLOWML_TRACKING_URI", uri)
    return uri


def test_register_logs_the_version_to_mlflow(
    settings: AirflowmlSettings, model_name: str, tracking_uri: str
) -> None:
    import mlflow

    run = run_dag(
        "ml_training_pipeline",
        {"model_name": model_name, "n_rows": 600, "grid": [{"kind": "logreg", "C": 1.0}]},
    )
    assert run.ok, run.states()
    version = ModelRegistry(settings.models_dir, model_name).require_current()
    run_id = version.metadata["mlflow_run_id"]
    logged = mlflow.MlflowClient(tracking_uri).get_run(run_id)
    assert logged.data.metrics["test_auc"] == pytest.approx(version.metadata["test"]["auc"])
    assert logged.data.params["C"] == "1.0"
    assert logged.data.tags["airflow_run_id"] == run.run_id
    artifacts = {a.path for a in mlflow.MlflowClient(tracking_uri).list_artifacts(run_id)}
    assert {"logreg-C=1.0.joblib", "feature_spec.json"} <= artifacts
