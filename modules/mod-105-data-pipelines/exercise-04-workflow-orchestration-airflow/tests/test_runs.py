"""Real DAG runs (``dag.test()`` on the session's SQLite metadata DB): what each DAG does."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from airflowml.alerts import read_alerts
from airflowml.config import AirflowmlSettings
from airflowml.data import generate
from airflowml.errors import AirflowmlError
from airflowml.pipelines import VALIDATED_DATA, run_folder
from airflowml.registry import ModelRegistry
from airflowml.runner import RunResult, run_dag

pytestmark = pytest.mark.integration

SMALL_GRID = [{"kind": "logreg", "C": 1.0}, {"kind": "gbm", "max_depth": 2}]


def train(model_name: str, **conf: Any) -> RunResult:
    return run_dag(
        "ml_training_pipeline",
        {"model_name": model_name, "n_rows": 1500, "grid": SMALL_GRID, **conf},
    )


def _alerts(settings: AirflowmlSettings, run: RunResult, kind: str) -> list[dict[str, Any]]:
    return [
        a
        for a in read_alerts(settings.alert_log)
        if a["run_id"] == run.run_id and a["kind"] == kind
    ]


def test_training_deploys_the_first_version_then_keeps_it_against_a_worse_one(
    settings: AirflowmlSettings, model_name: str
) -> None:
    first = train(model_name)
    assert first.ok, first.states()
    states = first.states()
    assert states["train[0]"] == states["train[1]"] == "success"
    assert states["evaluate[0]"] == states["evaluate[1]"] == "success"
    assert states["deploy"] == "success"
    assert states["keep_current"] == "skipped", states
    registry = ModelRegistry(settings.models_dir, model_name)
    v1 = registry.require_current()
    assert v1.version == 1
    assert v1.metadata["run_id"] == first.run_id
    assert set(v1.metadata["candidates"]) == {"logreg-C=1.0", "gbm-max_depth=2"}
    assert v1.metadata["test"]["auc"] > 0.75

    # The same data, a deliberately weak grid (two boosting rounds of stumps): a worse model.
    worse = train(model_name, grid=[{"kind": "gbm", "max_depth": 1, "max_iter": 2}])
    assert worse.ok, worse.states()
    assert worse.states()["deploy"] == "skipped"
    assert worse.states()["keep_current"] == "success"
    assert [v.version for v in registry.versions()] == [1, 2]  # v2 is kept on record
    assert registry.require_current().version == 1
    run_dir = run_folder(settings, "ml_training_pipeline", worse.run_id)
    decision = json.loads((run_dir / "summary.json").read_text())["decision"]
    assert decision["champion_version"] == 1
    assert decision["challenger_auc"] < decision["champion_auc"]
    assert decision["deploy"] is False


def test_a_better_model_replaces_the_deployed_one(
    settings: AirflowmlSettings, model_name: str
) -> None:
    assert train(model_name, grid=[{"kind": "gbm", "max_depth": 1, "max_iter": 2}]).ok  # weak v1
    better = train(model_name)
    assert better.states()["deploy"] == "success"
    current = ModelRegistry(settings.models_dir, model_name).require_current()
    assert current.version == 2


def test_validation_failure_stops_the_run_at_validate(
    settings: AirflowmlSettings, model_name: str
) -> None:
    run = train(model_name, inject_nulls=0.2)
    assert run.state == "failed"
    states = run.states()
    assert states["ingest"] == "success"
    assert states["validate"] == "failed"
    assert run.task("validate").try_number == 1  # no retry of bad data
    assert states["engineer_features"] == "upstream_failed"
    assert states["deploy"] == "upstream_failed"
    assert ModelRegistry(settings.models_dir, model_name).versions() == []
    (alert,) = _alerts(settings, run, "task_failed")
    assert alert["task_id"] == "validate"
    assert "raw.csv failed validation" in alert["error"]
    assert "monthly_charges:" in alert["error"]
    assert "nulls" in alert["error"]


def test_a_missing_source_file_fails_at_once_without_retries(
    settings: AirflowmlSettings, model_name: str, tmp_path: Path
) -> None:
    run = train(model_name, source=str(tmp_path / "nowhere.csv"))
    assert run.state == "failed"
    assert run.states()["ingest"] == "failed"
    assert run.task("ingest").try_number == 1  # ingest retries 3 times, but not this
    (alert,) = _alerts(settings, run, "task_failed")
    assert "no such data file" in alert["error"]


def test_a_flaky_ingest_succeeds_after_retries(
    settings: AirflowmlSettings, model_name: str
) -> None:
    run = train(model_name, flaky_failures=2)
    assert run.ok, run.states()
    assert run.task("ingest").try_number == 3
    # Failed tries that were retried raise no alert; only final failures do.
    assert _alerts(settings, run, "task_failed") == []


def test_tasks_over_their_budget_raise_deadline_alerts(
    settings: AirflowmlSettings, model_name: str
) -> None:
    run = train(model_name, task_budget_s=0.000001)
    assert run.ok  # tracking, not enforcement
    missed = {a["task_id"] for a in _alerts(settings, run, "deadline_miss")}
    assert {"ingest", "validate", "register", "report"} <= missed
    assert _alerts(settings, train(model_name), "deadline_miss") == []


def test_bad_conf_is_refused_before_anything_runs(model_name: str) -> None:
    with pytest.raises(AirflowmlError, match="invalid conf for ml_training_pipeline"):
        train(model_name, n_rows=10)
    with pytest.raises(AirflowmlError, match="unknown conf keys for ml_training_pipeline: n_row"):
        run_dag("ml_training_pipeline", {"n_row": 500})
    with pytest.raises(AirflowmlError, match="no DAG 'nope'"):
        run_dag("nope")


def test_a_bad_grid_entry_fails_the_run_before_training(model_name: str) -> None:
    run = train(model_name, grid=[{"kind": "gbm", "max_depth": 99}])
    assert run.state == "failed"
    assert run.states()["hyperparameter_grid"] == "failed"
    assert run.states()["train"] == "upstream_failed"  # never expanded: nothing trained


def test_batch_inference_scores_a_landed_file(
    settings: AirflowmlSettings, model_name: str, inbox: Path
) -> None:
    assert train(model_name).ok
    batch = generate(300, 55, with_label=False)
    batch.to_csv(inbox / "batch-a.csv", index=False)
    run = run_dag("batch_inference", {"model_name": model_name})
    assert run.ok, run.states()
    predictions = pd.read_csv(settings.predictions_dir / "batch-a.predictions.csv")
    assert list(predictions["customer_id"]) == list(batch["customer_id"])
    assert predictions["churn_probability"].between(0, 1).all()
    assert set(predictions["model_version"]) == {1}
    assert not (inbox / "batch-a.csv").exists()
    assert (settings.processed_dir / "batch-a.csv").is_file()


def test_batch_inference_waits_for_a_file_that_lands_later(
    settings: AirflowmlSettings, model_name: str, inbox: Path
) -> None:
    assert train(model_name).ok

    def land() -> None:
        time.sleep(1.5)
        generate(100, 56, with_label=False).to_csv(inbox / "late.part", index=False)
        (inbox / "late.part").rename(inbox / "late.csv")

    thread = threading.Thread(target=land)
    thread.start()
    run = run_dag("batch_inference", {"model_name": model_name})
    thread.join()
    assert run.ok, run.states()
    assert (settings.predictions_dir / "late.predictions.csv").is_file()


def test_a_bad_batch_is_rejected_with_its_reason(
    settings: AirflowmlSettings, model_name: str, inbox: Path
) -> None:
    assert train(model_name).ok
    generate(100, 57, with_label=False).drop(columns=["age"]).to_csv(inbox / "bad.csv", index=False)
    run = run_dag("batch_inference", {"model_name": model_name})
    assert run.state == "failed"
    assert run.states()["score"] == "failed"
    rejected = settings.data_dir / "rejected"
    assert (rejected / "bad.csv").is_file()  # kept, not lost
    assert "missing columns: age" in (rejected / "bad.reason.txt").read_text()


def test_no_batch_means_the_sensor_times_out(inbox: Path) -> None:
    run = run_dag("batch_inference", {})
    assert run.state == "failed"
    assert run.states()["wait_for_batch"] == "failed"
    assert run.states()["score"] == "upstream_failed"


def test_data_quality_publishes_an_asset_event_that_queues_retraining(
    settings: AirflowmlSettings,
) -> None:
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    good = run_dag("data_quality_monitor", {"seed": 21})
    assert good.ok, good.states()
    assert good.states()["publish"] == "success"
    validated = settings.quality_dir / "validated.csv"
    assert len(pd.read_csv(validated)) == 2000
    with create_session() as session:
        events = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == VALIDATED_DATA.name, AssetEvent.source_run_id == good.run_id)
        ).all()
        assert len(events) == 1
        assert events[0].extra["rows"] == 2000
        queued = set(session.scalars(select(AssetDagRunQueue.target_dag_id)).all())
    assert "ml_training_pipeline" in queued

    drifted = run_dag("data_quality_monitor", {"seed": 22, "drift": 2.0})
    assert drifted.ok
    assert drifted.states()["publish"] == "skipped"
    run_dir = run_folder(settings, "data_quality_monitor", drifted.run_id)
    report = json.loads((run_dir / "quality_report.json").read_text())
    assert report["ok"] is False
    assert any(r.startswith("usage_gb: mean moved") for r in report["reasons"])
