"""MLflow tracking of submitted jobs (Tune trials are logged by Ray's MLflowLoggerCallback)."""

from __future__ import annotations

from trainplat.results import JobReport
from trainplat.spec import JobSpec


def log_job(tracking_uri: str, spec: JobSpec, report: JobReport) -> str:
    """One MLflow run per job: params, per-epoch metrics, the best checkpoint; its run id."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name(spec.experiment)
    experiment_id = (
        experiment.experiment_id
        if experiment is not None
        else client.create_experiment(spec.experiment)
    )
    run = client.create_run(
        experiment_id,
        run_name=spec.name,
        tags={"trainplat.kind": "train", "trainplat.job": spec.name},
    )
    run_id = run.info.run_id
    params = {
        **spec.hyperparameters.model_dump(),
        "epochs": spec.epochs,
        "num_workers": spec.scaling.num_workers,
        "max_failures": spec.max_failures,
        "use_gpu": spec.scaling.use_gpu,
    }
    for key, value in params.items():
        client.log_param(run_id, key, value)
    for row in report.history:
        step = int(row.get("epoch", 0))
        for key in ("train_loss", "val_loss", "val_acc", "samples_per_s"):
            if key in row:
                client.log_metric(run_id, key, float(row[key]), step=step)
    client.set_tag(run_id, "trainplat.restored_from_epoch", str(report.restored_from_epoch))
    if report.checkpoint:
        client.log_artifacts(run_id, report.checkpoint, artifact_path="best_checkpoint")
    client.log_text(run_id, spec.model_dump_json(indent=2), "spec.json")
    client.set_terminated(run_id, status="FINISHED")
    return str(run_id)
