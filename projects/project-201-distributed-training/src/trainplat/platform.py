"""Submit a job spec to Ray Train, or tune it with Ray Tune; track both in MLflow.

``submit``: a ``TorchTrainer`` with ``ScalingConfig`` from the spec, ``FailureConfig`` (a
failed worker group is replaced up to ``max_failures`` times and resumes from the last
checkpoint) and ``CheckpointConfig`` (keep the best N by a metric). The driver logs the run to
MLflow: parameters, the metric history, the best checkpoint as an artifact.

``tune``: Ray Tune over the same loop, the spec's search space sampled ``num_samples`` times,
ASHA stopping weak trials early; ``MLflowLoggerCallback`` logs every trial as an MLflow run.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from trainplat import registry
from trainplat.errors import JobFailedError, TrainplatError
from trainplat.results import JobReport, TrialRow, TuneReport
from trainplat.spec import Distribution, JobSpec

logger = logging.getLogger(__name__)

HISTORY = "history.jsonl"


def loop_config(spec: JobSpec, session: str, storage: Path) -> dict[str, Any]:
    """The dict every worker/trial receives: data, epochs, hyperparameters, chaos."""
    config: dict[str, Any] = {
        "session": session,
        "epochs": spec.epochs,
        "data": spec.data.model_dump(),
        **spec.hyperparameters.model_dump(),
    }
    if session == "train":
        config["history"] = str(storage / spec.name / HISTORY)
    if spec.chaos is not None:
        config["chaos"] = {
            **spec.chaos.model_dump(),
            "marker": str(storage / spec.name / ".chaos-done"),
        }
    return config


def claim(run_dir: Path, replace: bool) -> None:
    """Refuse to overwrite an earlier run's checkpoints unless asked to.

    Raises:
        TrainplatError: ``run_dir`` exists and ``replace`` is false.
    """
    if run_dir.exists():
        if not replace:
            raise TrainplatError(
                f"{run_dir} holds an earlier run of this name; rename the job or pass "
                "--replace (its checkpoints and results are deleted)"
            )
        shutil.rmtree(run_dir)


def check_capacity(spec: JobSpec, kind: str = "train") -> None:
    """Refuse a job the connected Ray cluster can never place, before anything starts: Ray
    would otherwise wait for resources that do not exist, and the workers' start-up would
    time out minutes later.

    ``train`` needs all workers at once (``num_workers x cpus_per_worker`` CPUs, and one GPU
    each with ``use_gpu``); ``tune`` needs at least one trial (``cpus_per_worker``).

    Raises:
        TrainplatError: The cluster has fewer CPUs or GPUs than that.
    """
    import ray

    total: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
    cpus, gpus = float(total.get("CPU", 0)), float(total.get("GPU", 0))
    s = spec.scaling
    workers = s.num_workers if kind == "train" else 1
    need_cpu = workers * s.cpus_per_worker
    if need_cpu > cpus:
        raise TrainplatError(
            f"job {spec.name!r} needs {need_cpu:g} CPUs ({workers} worker(s) x "
            f"{s.cpus_per_worker:g}); the Ray cluster has {cpus:g}: lower scaling.num_workers "
            "or scaling.cpus_per_worker, or connect to a bigger cluster"
        )
    if s.use_gpu and workers > gpus:
        raise TrainplatError(
            f"job {spec.name!r} needs {workers} GPU(s) (one per worker); the Ray cluster has "
            f"{gpus:g}"
        )


def submit(
    spec: JobSpec, storage: Path, *, tracking_uri: str | None = None, replace: bool = False
) -> JobReport:
    """Run the job on Ray Train and wait for it (Ray must be connected, see ``cluster``).

    Args:
        spec: The job.
        storage: Ray Train's storage path (the run goes to ``storage/<name>``).
        tracking_uri: MLflow server to log the job to (None: no tracking).
        replace: Delete an earlier run of the same name instead of refusing.

    Raises:
        TrainplatError: An earlier run of the same name exists and ``replace`` is false, or
            the cluster is too small for the job (:func:`check_capacity`).
        JobFailedError: The job failed more than ``max_failures`` times.
    """
    from ray.train import (
        CheckpointConfig,
        FailureConfig,
        LoggingConfig,
        RunConfig,
        ScalingConfig,
    )
    from ray.train.torch import TorchTrainer

    from trainplat.loop import read_history, train_loop

    check_capacity(spec, "train")
    storage = storage.resolve()
    run_dir = storage / spec.name
    claim(run_dir, replace)
    trainer = TorchTrainer(
        train_loop,
        train_loop_config=loop_config(spec, "train", storage),
        scaling_config=ScalingConfig(
            num_workers=spec.scaling.num_workers,
            use_gpu=spec.scaling.use_gpu,
            resources_per_worker={"CPU": spec.scaling.cpus_per_worker},
        ),
        # Ray Train V2's RunConfig (what runs) takes logging_config; mypy reads the V1 one.
        run_config=RunConfig(  # type: ignore[call-arg]
            name=spec.name,
            storage_path=str(storage),
            # Ray Train's own INFO lines (one per report per worker) drown the run's logs.
            logging_config=LoggingConfig(log_level="WARNING"),
            failure_config=FailureConfig(max_failures=spec.max_failures),
            checkpoint_config=CheckpointConfig(
                num_to_keep=spec.checkpoint.num_to_keep,
                checkpoint_score_attribute=spec.checkpoint.score_attribute,
                checkpoint_score_order=spec.checkpoint.order,
            ),
        ),
    )
    started = time.monotonic()
    try:
        result = trainer.fit()
    except Exception as exc:
        registry.record(
            storage,
            {
                "name": spec.name,
                "kind": "train",
                "state": "failed",
                "error": str(exc).splitlines()[0],
            },
        )
        raise JobFailedError(f"job {spec.name!r} failed: {str(exc).splitlines()[0]}") from exc
    seconds = time.monotonic() - started
    history = read_history(run_dir / HISTORY)
    best = _best_checkpoint(result, spec)
    metrics = dict(result.metrics or {})
    report = JobReport(
        name=spec.name,
        state="succeeded",
        metrics=metrics,
        history=history,
        checkpoint=best,
        restored_from_epoch=int(metrics.get("start_epoch", 0)),
        seconds=seconds,
    )
    if tracking_uri:
        from trainplat.tracking import log_job

        report.mlflow_run_id = log_job(tracking_uri, spec, report)
    registry.record(storage, {"kind": "train", **asdict(report)})
    return report


def _best_checkpoint(result: Any, spec: JobSpec) -> str | None:
    scored = [
        (c, m)
        for c, m in (getattr(result, "best_checkpoints", None) or [])
        if spec.checkpoint.score_attribute in m
    ]
    if scored:
        sign = 1 if spec.checkpoint.order == "min" else -1
        best = min(scored, key=lambda cm: sign * cm[1][spec.checkpoint.score_attribute])[0]
        return str(best.path)
    return str(result.checkpoint.path) if result.checkpoint else None


def search_space(spec: JobSpec) -> dict[str, Any]:
    """The spec's search space as Ray Tune sampling objects."""
    from ray import tune

    def one(d: Distribution) -> Any:
        if d.loguniform:
            return tune.loguniform(*d.loguniform)
        if d.uniform:
            return tune.uniform(*d.uniform)
        if d.randint:
            return tune.randint(*d.randint)
        return tune.choice(list(d.choice or []))

    assert spec.tune is not None
    return {name: one(dist) for name, dist in spec.tune.search_space.items()}


def tune(
    spec: JobSpec, storage: Path, *, tracking_uri: str | None = None, replace: bool = False
) -> TuneReport:
    """Search the spec's space with ASHA over the same loop (one process per trial).

    Raises:
        JobFailedError: No ``tune`` section, or every trial failed.
    """
    from ray import tune as rtune
    from ray.tune.schedulers import ASHAScheduler

    from trainplat.loop import train_loop

    if spec.tune is None:
        raise JobFailedError(f"spec {spec.name!r} has no 'tune' section")
    t = spec.tune
    storage = storage.resolve()
    name = f"{spec.name}-tune"
    check_capacity(spec, "tune")
    claim(storage / name, replace)
    callbacks: list[rtune.Callback] = []
    if tracking_uri:
        from ray.air.integrations.mlflow import MLflowLoggerCallback

        callbacks.append(
            MLflowLoggerCallback(
                tracking_uri=tracking_uri,
                experiment_name=f"{spec.experiment}-tune",
                tags={"trainplat.job": spec.name},
                log_params_on_trial_end=False,
            )
        )
    base = loop_config(spec, "tune", storage)
    base.pop("chaos", None)  # drills are for submit
    tuner = rtune.Tuner(
        rtune.with_resources(train_loop, {"cpu": spec.scaling.cpus_per_worker}),
        param_space={**base, **search_space(spec)},
        tune_config=rtune.TuneConfig(
            metric=t.metric,
            mode=t.mode,
            num_samples=t.num_samples,
            max_concurrent_trials=t.max_concurrent,
            scheduler=ASHAScheduler(
                max_t=spec.epochs, grace_period=t.grace_period, reduction_factor=t.reduction_factor
            ),
        ),
        run_config=rtune.RunConfig(
            name=name,
            storage_path=str(storage),
            callbacks=callbacks,
            verbose=0,
            checkpoint_config=rtune.CheckpointConfig(
                num_to_keep=1,
                checkpoint_score_attribute=t.metric,
                checkpoint_score_order=t.mode,
            ),
        ),
    )
    started = time.monotonic()
    grid = tuner.fit()
    seconds = time.monotonic() - started
    searched = list(t.search_space)
    rows, errors = [], []
    for r in (grid[i] for i in range(len(grid))):
        if r.error is not None:
            errors.append(str(r.error).splitlines()[0])
            continue
        m = r.metrics or {}
        trial_config = r.config or {}
        rows.append(
            TrialRow(
                trial=str(m.get("trial_id", r.path.rsplit("/", 1)[-1] if r.path else "?")),
                config={k: trial_config[k] for k in searched},
                epochs=int(m.get("epoch", 0)),
                metric=float(m[t.metric]),
                stopped_early=int(m.get("epoch", 0)) < spec.epochs,
            )
        )
    if not rows:
        raise JobFailedError(f"every trial of {name!r} failed: {errors[:1]}")
    best_result = grid.get_best_result(metric=t.metric, mode=t.mode, scope="last")
    best_id = str((best_result.metrics or {}).get("trial_id"))
    best = next((row for row in rows if row.trial == best_id), rows[0])
    report = TuneReport(
        name=name,
        metric=t.metric,
        mode=t.mode,
        trials=rows,
        best=best,
        best_checkpoint=str(best_result.checkpoint.path) if best_result.checkpoint else None,
        seconds=seconds,
        mlflow_experiment=f"{spec.experiment}-tune" if tracking_uri else None,
        errors=errors,
    )
    registry.record(
        storage,
        {
            "kind": "tune",
            "name": name,
            "state": "succeeded",
            "seconds": seconds,
            "metrics": {t.metric: best.metric, "trials": len(rows)},
            "checkpoint": report.best_checkpoint,
            "best_config": best.config,
        },
    )
    return report
