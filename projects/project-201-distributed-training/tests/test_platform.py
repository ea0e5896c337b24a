"""The platform end to end on a real local Ray and a real mlflow server: the demo's run."""

from __future__ import annotations

import io
import json
from pathlib import Path

import mlflow
import pytest
import torch
from rich.console import Console
from trainplat import registry
from trainplat.cli import app
from trainplat.demo import demo_spec, run_demo
from trainplat.loop import load_model
from trainplat.platform import loop_config
from trainplat.results import JobReport, TuneReport
from trainplat.workload import split
from typer.testing import CliRunner

from aiinfra_shared.services.base import RunningService

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(
    local_ray: Path, mlflow_service: RunningService, tmp_path_factory: pytest.TempPathFactory
) -> tuple[JobReport, TuneReport, Path, str, str]:
    storage = tmp_path_factory.mktemp("storage")
    out = io.StringIO()
    console = Console(file=out, width=160)
    job, search = run_demo(tracking_uri=mlflow_service.url, console=console, storage=storage)
    return job, search, storage, mlflow_service.url, out.getvalue()


def test_a_job_survives_a_failed_worker_and_resumes_from_its_checkpoint(demo: tuple) -> None:
    job, _, storage, _, _ = demo
    spec = demo_spec()
    marker = json.loads((storage / spec.name / ".chaos-done").read_text())
    assert marker["rank"] == 1  # the drill really failed a worker ...
    assert marker["epoch"] == 2
    assert job.state == "succeeded"  # ... and the job still finished
    assert job.metrics["epoch"] == spec.epochs
    assert job.restored_from_epoch == 2  # the new worker group started from the checkpoint
    assert [row["epoch"] for row in job.history] == list(range(1, spec.epochs + 1))
    assert [row["start_epoch"] for row in job.history] == [0, 0, 2, 2]
    assert job.history[-1]["val_loss"] < job.history[0]["val_loss"]


def test_the_best_checkpoint_holds_the_model_it_was_scored_with(demo: tuple) -> None:
    job, _, storage, _, _ = demo
    spec = demo_spec()
    config = loop_config(spec, "train", storage)
    meta = json.loads((Path(job.checkpoint) / "meta.json").read_text())
    model = load_model(Path(job.checkpoint), config)
    _, val = split(
        spec.data.samples,
        spec.data.val_samples,
        **{k: getattr(spec.data, k) for k in ("features", "classes", "noise", "seed")},
    )
    with torch.no_grad():
        acc = float((model(val.tensors[0]).argmax(1) == val.tensors[1]).float().mean())
    assert acc == pytest.approx(meta["val_acc"])
    assert meta["val_loss"] == min(row["val_loss"] for row in job.history)  # kept by score


def test_the_job_is_tracked_in_mlflow(demo: tuple) -> None:
    job, _, _, uri, _ = demo
    client = mlflow.MlflowClient(tracking_uri=uri)
    run = client.get_run(job.mlflow_run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["num_workers"] == "2"
    assert run.data.tags["trainplat.restored_from_epoch"] == "2"
    history = client.get_metric_history(job.mlflow_run_id, "val_loss")
    assert [m.step for m in history] == [1, 2, 3, 4]
    artifacts = [a.path for a in client.list_artifacts(job.mlflow_run_id, "best_checkpoint")]
    assert "best_checkpoint/model.pt" in artifacts


def test_tune_runs_four_trials_with_asha_and_keeps_the_best(demo: tuple) -> None:
    _, search, _, _, _ = demo
    spec = demo_spec()
    assert len(search.trials) == 4
    assert not search.errors
    assert search.best.metric == min(t.metric for t in search.trials)
    assert all(1 <= t.epochs <= spec.epochs for t in search.trials)
    assert any(t.epochs == spec.epochs for t in search.trials)  # someone ran to the end
    for t in search.trials:
        assert 0.001 <= t.config["lr"] <= 0.1
        assert t.config["hidden"] in (16, 64, 128)
    assert search.best_checkpoint is not None
    assert (Path(search.best_checkpoint) / "model.pt").exists()


def test_every_trial_is_an_mlflow_run(demo: tuple) -> None:
    _, search, _, uri, _ = demo
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(search.mlflow_experiment)
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 4
    assert all("lr" in r.data.params and "val_loss" in r.data.metrics for r in runs)


def test_status_lists_both_and_the_demo_printed_its_tables(demo: tuple) -> None:
    _, _, storage, _, printed = demo
    kinds = [(e["kind"], e["name"], e["state"]) for e in registry.entries(storage)]
    assert kinds == [("train", "tiny", "succeeded"), ("tune", "tiny-tune", "succeeded")]
    result = CliRunner().invoke(app, ["status", "--storage", str(storage)])
    assert result.exit_code == 0
    assert "tiny-tune" in result.output
    assert "restarted" in printed  # the job table marks the epochs of the new worker group
    assert "best" in printed
