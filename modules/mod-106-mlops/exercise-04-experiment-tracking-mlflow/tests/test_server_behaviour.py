"""The server under load and across a restart."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from exptrack import registry
from exptrack.concurrency import log_concurrently
from exptrack.data import Dataset
from exptrack.models import ModelSpec
from exptrack.predict import predict
from exptrack.server import connect
from exptrack.train import train_run
from mlflow import MlflowClient

from aiinfra_shared.services import mlflow as mlflow_launcher

pytestmark = pytest.mark.integration


def test_four_processes_logging_at_once_lose_nothing(experiment: str) -> None:
    steps = 60
    with mlflow.start_run() as run:
        pass
    result = log_concurrently(mlflow.get_tracking_uri(), run.info.run_id, processes=4, steps=steps)
    assert result.points == 4 * steps * 2
    client = MlflowClient()
    for worker in range(4):
        history = client.get_metric_history(run.info.run_id, f"worker_{worker}")
        assert sorted(m.step for m in history) == list(range(steps))
        assert sorted(m.value for m in history) == [float(s) for s in range(steps)]
    shared = client.get_metric_history(run.info.run_id, "shared")
    assert sorted(m.step for m in shared) == list(range(4 * steps))
    # Every point carries the value of the worker that wrote it.
    assert all(m.value == m.step // steps for m in shared)


@pytest.mark.slow
def test_restart_keeps_runs_and_registry(tmp_path: Path, data: Dataset, tracking_uri: str) -> None:
    """Stop the server, start a new one on the same store: runs, versions and aliases remain."""
    try:
        _restart_scenario(tmp_path, data)
    finally:
        mlflow.set_tracking_uri(tracking_uri)


def _restart_scenario(tmp_path: Path, data: Dataset) -> None:
    workdir = tmp_path / "mlflow"
    name = "restart-model"
    with mlflow_launcher.mlflow(workdir=workdir) as first:
        client = connect(first.url, "restart")
        result = train_run(ModelSpec.parse("logreg", "epochs=5"), data)
        version = str(registry.register(client, name, result.run_id).version)
        registry.promote(client, name, version, registry.GateConfig(0.8, 0.8))
        before = predict(name, data.holdout)
    with mlflow_launcher.mlflow(workdir=workdir) as second:
        assert first.process.poll() is not None  # the first server is really gone
        client = connect(second.url, "restart", create=False)
        run = client.get_run(result.run_id)
        assert run.data.metrics["val_f1"] == pytest.approx(result.metrics["val_f1"])
        assert len(client.get_metric_history(result.run_id, "val_loss")) == 5
        assert registry.alias_version(client, name, registry.CHAMPION).version == version
        assert client.get_model_version(name, version).tags["gate.status"] == "passed"
        # The artifacts (the model itself) survived too: it loads and predicts the same.
        assert (predict(name, data.holdout) == before).all()
