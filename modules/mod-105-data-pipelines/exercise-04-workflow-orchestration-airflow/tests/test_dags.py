"""The DAG files: they load, and their structure is what the README describes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from airflowml.config import AirflowmlSettings
from airflowml.errors import AirflowmlError
from airflowml.home import DAGS_FOLDER
from airflowml.pipelines import VALIDATED_DATA, load_factory_config
from airflowml.runner import schedule_of

EXPECTED = {
    "ml_training_pipeline",
    "batch_inference",
    "data_quality_monitor",
    "train_churn_eu",
    "train_churn_us",
}


@pytest.fixture(scope="module")
def bag(settings: AirflowmlSettings) -> Any:
    from airflowml.runner import dagbag

    return dagbag(refresh=True)


def _upstream(dag: Any, task_id: str) -> set[str]:
    return set(dag.get_task(task_id).upstream_task_ids)


def test_every_dag_loads_without_import_errors(bag: Any) -> None:
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == EXPECTED


def test_training_pipeline_shape(bag: Any) -> None:
    dag = bag.get_dag("ml_training_pipeline")
    assert _upstream(dag, "validate") == {"ingest"}
    assert _upstream(dag, "engineer_features") == {"validate"}
    assert _upstream(dag, "train") == {"engineer_features", "hyperparameter_grid"}
    assert _upstream(dag, "evaluate") == {"engineer_features", "train"}
    assert _upstream(dag, "choose_best") == {"evaluate"}
    assert _upstream(dag, "deploy_gate") == {"register", "engineer_features"}
    assert _upstream(dag, "deploy") == {"deploy_gate", "register"}
    assert _upstream(dag, "keep_current") == {"deploy_gate"}
    assert _upstream(dag, "report") == {"deploy", "keep_current", "register"}
    assert dag.get_task("report").trigger_rule == "none_failed_min_one_success"
    # Dynamic task mapping over the hyperparameter grid.
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    assert isinstance(dag.get_task("train"), MappedOperator)
    assert dag.max_active_runs == 1
    assert not dag.catchup
    assert dag.dagrun_timeout == timedelta(hours=2)


def test_retries_owners_tags_and_callbacks(bag: Any) -> None:
    for dag_id in EXPECTED:
        dag = bag.get_dag(dag_id)
        assert "airflowml" in dag.tags
        for task in dag.tasks:
            assert task.owner, f"{dag_id}.{task.task_id} has no owner"
            assert task.on_failure_callback, f"{dag_id}.{task.task_id}: no failure alert"
    ingest = bag.get_dag("ml_training_pipeline").get_task("ingest")
    assert ingest.retries == 3
    assert ingest.retry_exponential_backoff
    assert ingest.max_retry_delay == timedelta(seconds=20)
    # Validation must fail at once: retrying bad data cannot make it good.
    assert bag.get_dag("ml_training_pipeline").get_task("validate").retries == 0
    assert bag.get_dag("train_churn_eu").owner == "ml-platform-eu"
    assert {"factory", "region-eu"} <= set(bag.get_dag("train_churn_eu").tags)


def test_schedules_sensor_and_asset_wiring(bag: Any) -> None:
    training = bag.get_dag("ml_training_pipeline")
    assert type(training.timetable).__name__ == "AssetOrTimeSchedule"
    assert VALIDATED_DATA in training.timetable.asset_condition.objects
    publish = bag.get_dag("data_quality_monitor").get_task("publish")
    assert VALIDATED_DATA in publish.outlets
    sensor = bag.get_dag("batch_inference").get_task("wait_for_batch")
    assert sensor.mode == "reschedule"
    assert schedule_of(bag.get_dag("train_churn_us")) == "30 4 * * *"
    assert schedule_of(training) == "0 3 * * 1 or asset airflowml_validated_training_data"
    assert schedule_of(bag.get_dag("batch_inference")) == "0 * * * *"


def test_params_have_validated_defaults(bag: Any) -> None:
    dag = bag.get_dag("ml_training_pipeline")
    assert dag.params.validate()["n_rows"] == 2000
    factory = bag.get_dag("train_churn_eu").params.validate()
    assert factory["model_name"] == "churn-eu"
    assert factory["n_rows"] == 1500
    assert len(factory["grid"]) == 2


def _parse_in_subprocess(env: dict[str, str]) -> dict[str, Any]:
    """Parse the DAG folder in a fresh interpreter: what a dag processor would see."""
    code = (
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(DAGS_FOLDER)!r})\n"
        "heavy = sorted(m for m in ('sklearn', 'joblib', 'pandas', 'mlflow') if m in sys.modules)\n"
        "print(json.dumps({'dags': sorted(bag.dag_ids), 'heavy': heavy,\n"
        "  'errors': {k: v.strip().splitlines()[-1] for k, v in bag.import_errors.items()}}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
        timeout=300,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_dag_files_import_nothing_heavy_at_parse_time() -> None:
    parsed = _parse_in_subprocess({})
    assert set(parsed["dags"]) == EXPECTED
    assert parsed["heavy"] == []


def test_a_bad_factory_file_is_an_import_error_of_that_file_only(tmp_path: Path) -> None:
    bad = tmp_path / "pipelines.yaml"
    bad.write_text("pipelines:\n  - name: eu\n    model_name: churn-eu\n    shedule: daily\n")
    parsed = _parse_in_subprocess({"AIRFLOWML_PIPELINES_FILE": str(bad)})
    ((where, error),) = parsed["errors"].items()
    assert where.endswith("pipelines_factory.py")
    assert "pipelines.0.shedule: Extra inputs are not permitted" in error
    assert set(parsed["dags"]) == {
        "ml_training_pipeline",
        "batch_inference",
        "data_quality_monitor",
    }


def test_factory_config_rules(tmp_path: Path) -> None:
    shipped = load_factory_config(DAGS_FOLDER / "pipelines.yaml")
    assert [p.name for p in shipped.pipelines] == ["churn_eu", "churn_us"]
    config = tmp_path / "p.yaml"
    config.write_text("pipelines:\n  - {name: a, model_name: a}\n  - {name: a, model_name: b}\n")
    with pytest.raises(AirflowmlError, match="duplicate pipeline names: a"):
        load_factory_config(config)
    config.write_text("pipelines:\n  - {name: a, model_name: a, params: {n_row: 5}}\n")
    with pytest.raises(AirflowmlError, match="unknown params n_row"):
        load_factory_config(config)
    config.write_text("pipelines:\n  - {name: A-b, model_name: a}\n")
    with pytest.raises(AirflowmlError, match=r"pipelines\.0\.name"):
        load_factory_config(config)
