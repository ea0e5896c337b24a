"""The DAG builders: every DAG of this exercise is made here, the files in ``dags/`` only call.

Airflow parses DAG files often (the dag processor re-imports them every few seconds), so this
module imports nothing heavy at the top: pandas, scikit-learn and joblib are imported inside the
task functions, which run only when a task does. The task bodies are thin: the logic is in
plain functions (:mod:`airflowml.data`, :mod:`airflowml.training`, :mod:`airflowml.registry`)
that the unit tests call without Airflow.

DAGs:

- ``ml_training_pipeline`` (:func:`training_dag`): ingest → validate → engineer_features →
  hyperparameter_grid → train (mapped) → evaluate (mapped) → choose_best → register →
  deploy_gate (branch) → deploy | keep_current → report. Runs weekly, and whenever
  ``data_quality_monitor`` publishes a validated snapshot (an Asset).
- ``batch_inference`` (:func:`batch_inference_dag`): a sensor in reschedule mode waits for a
  CSV in the inbox, then ``score`` writes predictions with the deployed model.
- ``data_quality_monitor`` (:func:`quality_dag`): daily snapshot → profile → check (short
  circuit) → publish, whose outlet is the Asset the training pipeline is scheduled on.
- ``train_<name>`` for each entry of ``pipelines.yaml`` (:func:`factory_dags`).
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
import yaml
from airflow.sdk import (
    DAG,
    Asset,
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    Param,
    PokeReturnValue,
    dag,
    get_current_context,
    task,
)
from airflow.sdk.exceptions import AirflowFailException
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from airflowml.alerts import budget_callback, on_task_failure
from airflowml.config import AirflowmlSettings
from airflowml.errors import AirflowmlError

START = pendulum.datetime(2026, 1, 1, tz="UTC")
OWNER = "ml-platform"

# data_quality_monitor's outlet and ml_training_pipeline's trigger.
VALIDATED_DATA = Asset(
    name="airflowml_validated_training_data", uri="file:///airflowml/validated.csv"
)

DEFAULT_GRID: list[dict[str, Any]] = [
    {"kind": "logreg", "C": 0.1},
    {"kind": "logreg", "C": 1.0},
    {"kind": "gbm", "max_depth": 2, "learning_rate": 0.1},
    {"kind": "gbm", "max_depth": 3, "learning_rate": 0.05},
]

DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 1,
    "retry_delay": timedelta(seconds=5),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=5),
    "on_failure_callback": on_task_failure,
    "on_success_callback": budget_callback,
}


def run_folder(settings: AirflowmlSettings, dag_id: str, run_id: str) -> Path:
    """A run's working folder: ``<home>/data/runs/<dag_id>/<run_id, file-name safe>``."""
    return settings.runs_dir / dag_id / re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)


def _run_dir(context: Any) -> Path:
    folder = run_folder(AirflowmlSettings(), context["dag"].dag_id, context["run_id"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _as_list(values: Any) -> list[Any]:
    """A mapped task's results as a list, read by index (iterating the lazy sequence probes
    one XCom past the end, which the task SDK logs as an error)."""
    return [values[i] for i in range(len(values))]


def training_params(model_name: str = "churn", **defaults: Any) -> dict[str, Param]:
    """The training pipeline's Params (validated by Airflow when a run is triggered)."""
    values: dict[str, Any] = {
        "source": "auto",
        "n_rows": 2000,
        "seed": 7,
        "drift": 0.0,
        "label_noise": 0.0,
        "inject_nulls": 0.0,
        "flaky_failures": 0,
        "grid": DEFAULT_GRID,
        "min_improvement": 0.002,
        "task_budget_s": 120.0,
        **defaults,
    }
    return {
        "model_name": Param(
            model_name,
            type="string",
            pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
            description="Registered model this pipeline trains and deploys.",
        ),
        "source": Param(
            values["source"],
            type="string",
            minLength=1,
            description="'auto' (the validated snapshot when an Asset triggered the run, "
            "else generated data), 'synthetic', 'validated', or a CSV path.",
        ),
        "n_rows": Param(values["n_rows"], type="integer", minimum=200, maximum=200_000),
        "seed": Param(values["seed"], type="integer", minimum=0),
        "drift": Param(values["drift"], type="number", minimum=-3, maximum=3),
        "label_noise": Param(
            values["label_noise"],
            type="number",
            minimum=0,
            maximum=0.5,
            description="Flip this fraction of labels: a degraded source, a worse model.",
        ),
        "inject_nulls": Param(
            values["inject_nulls"],
            type="number",
            minimum=0,
            maximum=1,
            description="Null out this fraction of monthly_charges: validation must stop it.",
        ),
        "flaky_failures": Param(
            values["flaky_failures"],
            type="integer",
            minimum=0,
            maximum=3,
            description="ingest fails its first N tries (a flaky source; retries recover).",
        ),
        "grid": Param(
            values["grid"],
            type="array",
            minItems=1,
            maxItems=16,
            items={
                "type": "object",
                "properties": {"kind": {"enum": ["logreg", "gbm"]}},
                "required": ["kind"],
            },
            description="Hyperparameter grid: one mapped train task per entry.",
        ),
        "min_improvement": Param(
            values["min_improvement"],
            type="number",
            minimum=0,
            maximum=1,
            description="Deploy only if test AUC beats the deployed model's by more than this.",
        ),
        "task_budget_s": Param(
            values["task_budget_s"],
            type="number",
            minimum=0,
            description="Per-task time budget: longer tasks raise a deadline_miss alert.",
        ),
    }


def training_dag(
    dag_id: str = "ml_training_pipeline",
    *,
    model_name: str = "churn",
    schedule: Any = None,
    owner: str = OWNER,
    tags: tuple[str, ...] = (),
    description: str = "Train, evaluate, register and (if better) deploy the churn model.",
    defaults: dict[str, Any] | None = None,
) -> DAG:
    """Build a training pipeline DAG (the main one, or one per factory entry)."""

    @dag(
        dag_id=dag_id,
        description=description,
        schedule=schedule,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, "owner": owner},
        params=training_params(model_name, **(defaults or {})),
        tags=["airflowml", "training", *tags],
        dagrun_timeout=timedelta(hours=2),
        doc_md=__doc__,
    )
    def pipeline() -> None:
        @task(
            retries=3,
            retry_delay=timedelta(seconds=1),
            retry_exponential_backoff=True,
            max_retry_delay=timedelta(seconds=20),
        )
        def ingest() -> dict[str, Any]:
            """Land the raw table in this run's folder (retried with backoff: sources flake)."""
            from airflowml.data import generate, read_table

            context = get_current_context()
            params, ti = context["params"], context["ti"]
            if ti.try_number <= params["flaky_failures"]:
                raise ConnectionError(
                    f"source unavailable (simulated, try {ti.try_number} of "
                    f"{params['flaky_failures']} failing)"
                )
            source = params["source"]
            validated = AirflowmlSettings().quality_dir / "validated.csv"
            if source == "auto":
                triggered = str(context["dag_run"].run_type).endswith("asset_triggered")
                source = "validated" if triggered and validated.is_file() else "synthetic"
            if source == "synthetic":
                raw = generate(
                    params["n_rows"],
                    params["seed"],
                    label_noise=params["label_noise"],
                    inject_nulls=params["inject_nulls"],
                    drift=params["drift"],
                )
            else:
                try:
                    raw = read_table(validated if source == "validated" else Path(source))
                except AirflowmlError as exc:
                    # A missing or unreadable file stays missing: fail now, no retries (they
                    # are for the flaky source above, whose next try may succeed).
                    raise AirflowFailException(str(exc)) from None
            path = _run_dir(context) / "raw.csv"
            raw.to_csv(path, index=False)
            return {"path": str(path), "rows": len(raw), "source": source}

        @task(retries=0)
        def validate(raw: dict[str, Any]) -> dict[str, Any]:
            """Schema, ranges, nulls: a bad table fails the run here, with every reason."""
            from airflowml.data import read_table, require_valid

            path = Path(raw["path"])
            try:
                report = require_valid(read_table(path), path.name)
            except AirflowmlError as exc:
                raise AirflowFailException(str(exc)) from None
            return {**raw, "null_fraction": report.null_fraction}

        @task
        def engineer_features(raw: dict[str, Any]) -> dict[str, str]:
            """Split 60/20/20 and build features (clip bounds fitted on train only)."""
            from airflowml.data import read_table
            from airflowml.training import split

            context = get_current_context()
            return split(
                read_table(Path(raw["path"])), _run_dir(context), context["params"]["seed"]
            )

        @task
        def hyperparameter_grid() -> list[dict[str, Any]]:
            """The grid from the run's params, checked before any training starts."""
            from airflowml.training import check_params

            grid = list(get_current_context()["params"]["grid"])
            try:
                for entry in grid:
                    check_params(entry)
            except AirflowmlError as exc:
                raise AirflowFailException(str(exc)) from None
            return grid

        @task(max_active_tis_per_dagrun=2)
        def train(paths: dict[str, str], hyperparams: dict[str, Any]) -> dict[str, Any]:
            """One grid entry (a mapped task instance per entry)."""
            from airflowml.training import train_candidate

            context = get_current_context()
            folder = _run_dir(context) / "candidates"
            return train_candidate(paths, hyperparams, folder, context["params"]["seed"])

        @task
        def evaluate(paths: dict[str, str], candidate: dict[str, Any]) -> dict[str, Any]:
            """Validation metrics of one candidate."""
            from airflowml.training import evaluate_candidate

            return evaluate_candidate(candidate, paths)

        @task
        def choose_best(evaluated: list[dict[str, Any]]) -> dict[str, Any]:
            """The best validation AUC wins (test data is kept for the deploy gate)."""
            from airflowml.training import choose_best as best_of

            return best_of(_as_list(evaluated))

        @task
        def register(
            best: dict[str, Any],
            raw: dict[str, Any],
            paths: dict[str, str],
            evaluated: list[dict[str, Any]],
        ) -> dict[str, Any]:
            """Write the next model version (not deployed yet); log to MLflow if configured."""
            import joblib

            from airflowml.registry import ModelRegistry
            from airflowml.tracking import log_to_mlflow
            from airflowml.training import metrics

            context = get_current_context()
            settings = AirflowmlSettings()
            test = metrics(joblib.load(best["model_path"]), paths["test"])
            metadata = {
                "candidate": best["name"],
                "params": best["params"],
                "val": best["val"],
                "test": test,
                "data": {"path": raw["path"], "rows": raw["rows"], "source": raw["source"]},
                "dag_id": context["dag"].dag_id,
                "run_id": context["run_id"],
                "candidates": {c["name"]: c["val"]["auc"] for c in _as_list(evaluated)},
            }
            if settings.tracking_uri:
                metadata["mlflow_run_id"] = log_to_mlflow(
                    settings.tracking_uri,
                    context["params"]["model_name"],
                    best,
                    metadata,
                    [best["model_path"], paths["spec"]],
                )
            registry = ModelRegistry(settings.models_dir, context["params"]["model_name"])
            version = registry.register(Path(best["model_path"]), Path(paths["spec"]), metadata)
            return {"version": version.version, "test": test, "candidate": best["name"]}

        @task.branch
        def deploy_gate(registered: dict[str, Any], paths: dict[str, str]) -> str:
            """Deploy only if the new version beats the deployed one on this run's test split."""
            from airflowml.registry import ModelRegistry
            from airflowml.training import champion_auc

            context = get_current_context()
            params = context["params"]
            registry = ModelRegistry(AirflowmlSettings().models_dir, params["model_name"])
            current = registry.current()
            challenger = registered["test"]["auc"]
            champion = champion_auc(current, paths["test_raw"]) if current else None
            deploy = champion is None or challenger > champion + params["min_improvement"]
            decision = {
                "challenger_version": registered["version"],
                "challenger_auc": challenger,
                "champion_version": current.version if current else None,
                "champion_auc": champion,
                "min_improvement": params["min_improvement"],
                "deploy": deploy,
            }
            context["ti"].xcom_push(key="decision", value=decision)
            return "deploy" if deploy else "keep_current"

        @task
        def deploy(registered: dict[str, Any]) -> dict[str, Any]:
            """Move ``current`` to the new version (atomic pointer swap)."""
            from airflowml.registry import ModelRegistry

            context = get_current_context()
            registry = ModelRegistry(
                AirflowmlSettings().models_dir, context["params"]["model_name"]
            )
            decision = context["ti"].xcom_pull(task_ids="deploy_gate", key="decision")
            reason = (
                "first version"
                if decision["champion_auc"] is None
                else f"test AUC {decision['challenger_auc']:.4f} > {decision['champion_auc']:.4f}"
            )
            registry.deploy(registered["version"], reason)
            return {"deployed": registered["version"], "reason": reason}

        @task
        def keep_current() -> dict[str, Any]:
            """The deployed model stays; the new version remains registered for the record."""
            decision = get_current_context()["ti"].xcom_pull(task_ids="deploy_gate", key="decision")
            return {"deployed": decision["champion_version"], "kept": True}

        @task(trigger_rule="none_failed_min_one_success")
        def report(registered: dict[str, Any]) -> dict[str, Any]:
            """Summary of the run, also written to ``summary.json`` in the run folder."""
            import json

            context = get_current_context()
            ti = context["ti"]
            decision = ti.xcom_pull(task_ids="deploy_gate", key="decision")
            summary = {**registered, "decision": decision}
            (_run_dir(context) / "summary.json").write_text(json.dumps(summary, indent=2))
            return summary

        # TaskFlow wiring: each call passes an XComArg, which Airflow resolves to the upstream
        # task's return value at run time; mypy sees the XComArg, hence the arg-type ignores.
        raw = validate(ingest())  # type: ignore[arg-type]
        paths = engineer_features(raw)  # type: ignore[arg-type]
        trained = train.partial(paths=paths).expand(hyperparams=hyperparameter_grid())
        evaluated = evaluate.partial(paths=paths).expand(candidate=trained)
        registered = register(choose_best(evaluated), raw, paths, evaluated)  # type: ignore[arg-type]
        gate = deploy_gate(registered, paths)  # type: ignore[arg-type]
        done = report(registered)  # type: ignore[arg-type]
        gate >> [deploy(registered), keep_current()] >> done  # type: ignore[arg-type]

    return pipeline()


def batch_inference_dag(settings: AirflowmlSettings | None = None) -> DAG:
    """Wait for a batch file, score it with the deployed model, write predictions."""
    settings = settings or AirflowmlSettings()

    @dag(
        dag_id="batch_inference",
        description="Score each CSV that lands in the inbox with the deployed model.",
        schedule="@hourly",
        start_date=START,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params={
            "model_name": Param("churn", type="string", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$"),
            "task_budget_s": Param(120.0, type="number", minimum=0),
        },
        tags=["airflowml", "inference"],
    )
    def batch_inference() -> None:
        @task.sensor(
            poke_interval=settings.sensor_poke_s,
            timeout=settings.sensor_timeout_s,
            mode="reschedule",
            retries=0,
        )
        def wait_for_batch() -> PokeReturnValue:
            """Done when a ``*.csv`` is in the inbox (the oldest first); frees its slot between
            pokes (reschedule mode), so a day of waiting holds no worker."""
            inbox = AirflowmlSettings().inbox
            inbox.mkdir(parents=True, exist_ok=True)
            files = sorted(inbox.glob("*.csv"), key=lambda p: (p.stat().st_mtime, p.name))
            return PokeReturnValue(is_done=bool(files), xcom_value=str(files[0]) if files else None)

        @task(retries=0)
        def score(path: str) -> dict[str, Any]:
            """Validate, score, write predictions; a bad file goes to ``rejected/`` with why."""
            from airflowml.inference import score_file

            context = get_current_context()
            try:
                return score_file(Path(path), context["params"]["model_name"], context["run_id"])
            except AirflowmlError as exc:
                raise AirflowFailException(str(exc)) from None

        score(wait_for_batch())  # type: ignore[arg-type]  # TaskFlow: an XComArg

    return batch_inference()


def quality_dag() -> DAG:
    """Profile the day's data; publish it as the validated snapshot when it passes."""

    @dag(
        dag_id="data_quality_monitor",
        description="Daily data quality checks; a passing snapshot triggers retraining.",
        schedule="@daily",
        start_date=START,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params={
            "source": Param("synthetic", type="string", minLength=1),
            "n_rows": Param(2000, type="integer", minimum=200, maximum=200_000),
            "seed": Param(8, type="integer", minimum=0),
            "drift": Param(0.0, type="number", minimum=-3, maximum=3),
            "inject_nulls": Param(0.0, type="number", minimum=0, maximum=1),
            "max_mean_shift": Param(
                0.5,
                type="number",
                minimum=0,
                description="Largest mean shift (in reference std devs) that still passes.",
            ),
            "task_budget_s": Param(120.0, type="number", minimum=0),
        },
        tags=["airflowml", "data-quality"],
    )
    def data_quality_monitor() -> None:
        @task
        def snapshot() -> str:
            """Today's data in this run's folder (generated, or a CSV path)."""
            from airflowml.data import generate, read_table

            context = get_current_context()
            params = context["params"]
            if params["source"] == "synthetic":
                frame = generate(
                    params["n_rows"],
                    params["seed"],
                    drift=params["drift"],
                    inject_nulls=params["inject_nulls"],
                )
            else:
                frame = read_table(Path(params["source"]))
            path = _run_dir(context) / "snapshot.csv"
            frame.to_csv(path, index=False)
            return str(path)

        @task
        def profile(path: str) -> dict[str, Any]:
            """Validation report and mean shift against the reference (first passing) data."""
            from airflowml.quality import profile_file

            return profile_file(Path(path), get_current_context()["params"]["max_mean_shift"])

        @task.short_circuit(ignore_downstream_trigger_rules=True)
        def check_quality(report: dict[str, Any]) -> bool:
            """False skips ``publish``: a bad snapshot never triggers retraining."""
            return bool(report["ok"])

        @task(outlets=[VALIDATED_DATA])
        def publish(path: str, report: dict[str, Any]) -> dict[str, Any]:
            """Replace the validated snapshot atomically; the Asset event queues retraining."""
            settings = AirflowmlSettings()
            target = settings.quality_dir / "validated.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = target.with_suffix(".csv.tmp")
            shutil.copyfile(path, staging)
            staging.replace(target)
            extra = {"path": str(target), "rows": report["rows"], "from": path}
            get_current_context()["outlet_events"][VALIDATED_DATA].extra = extra
            return extra

        # TaskFlow: XComArgs stand for the upstream values (see ml_training_pipeline)
        path = snapshot()
        report = profile(path)  # type: ignore[arg-type]
        check_quality(report) >> publish(path, report)  # type: ignore[arg-type]

    return data_quality_monitor()


class PipelineSpec(BaseModel):
    """One entry of ``pipelines.yaml``: a training DAG ``train_<name>``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    model_name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    schedule: str | None = None
    owner: str = OWNER
    tags: list[str] = Field(default_factory=list)
    description: str = ""
    params: dict[str, Any] = Field(default_factory=dict)


class FactoryConfig(BaseModel):
    """The whole ``pipelines.yaml``."""

    model_config = ConfigDict(extra="forbid")

    pipelines: list[PipelineSpec]


def load_factory_config(path: Path) -> FactoryConfig:
    """Read and check ``pipelines.yaml``; a mistake names the file and the field."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise AirflowmlError(f"{path}: cannot read: {exc}") from None
    try:
        config = FactoryConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise AirflowmlError(f"{path}: {problems}") from None
    names = [spec.name for spec in config.pipelines]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise AirflowmlError(f"{path}: duplicate pipeline names: {', '.join(dupes)}")
    known = set(training_params())
    for spec in config.pipelines:
        unknown = sorted(set(spec.params) - known)
        if unknown:
            raise AirflowmlError(f"{path}: {spec.name}: unknown params {', '.join(unknown)}")
    return config


def factory_dags(path: Path) -> list[DAG]:
    """One training DAG per entry of the config file (dynamic DAG generation)."""
    return [
        training_dag(
            f"train_{spec.name}",
            model_name=spec.model_name,
            schedule=spec.schedule,
            owner=spec.owner,
            tags=("factory", *spec.tags),
            description=spec.description or f"Training pipeline for {spec.name} (from {path.name})",
            defaults=spec.params,
        )
        for spec in load_factory_config(path).pipelines
    ]


def main_schedule() -> AssetOrTimeSchedule:
    """Weekly on Monday 03:00 UTC, and on every validated snapshot."""
    return AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 3 * * 1", timezone="UTC"), assets=[VALIDATED_DATA]
    )
