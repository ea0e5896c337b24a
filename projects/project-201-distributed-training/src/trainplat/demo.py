"""What ``aiinfra run 201`` shows: a job that survives a worker failure, then a 4-trial search.

1. start a real ``mlflow server`` (shared launcher) and a local Ray instance;
2. submit the built-in ``tiny`` spec with a chaos drill: worker rank 1 fails at the start of
   epoch 3; Ray Train replaces the worker group, which resumes from the epoch-2 checkpoint;
3. tune the same spec: 4 trials over lr and hidden size, ASHA stopping the weak ones;
4. print both tables, the registry, and where MLflow has it all.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console

from trainplat import registry
from trainplat.cluster import connect, dashboard_url, disconnect
from trainplat.platform import submit, tune
from trainplat.report import job_table, registry_table, tune_table
from trainplat.results import JobReport, TuneReport
from trainplat.spec import ChaosSpec, JobSpec, builtin


def demo_spec() -> JobSpec:
    """The built-in tiny spec with a chaos drill at epoch 3, rank 1."""
    spec = builtin("tiny")
    return spec.model_copy(update={"chaos": ChaosSpec(fail_at_epoch=2, rank=1)})


def run_demo(
    *,
    mlflow: bool = True,
    tracking_uri: str | None = None,
    console: Console | None = None,
    storage: Path | None = None,
) -> tuple[JobReport, TuneReport]:
    """Run the demo end to end (about two minutes on a 2-core laptop).

    Args:
        mlflow: Track in MLflow (a local server is started unless ``tracking_uri`` is given).
        tracking_uri: An MLflow server that is already running.
        console: Where the tables go.
        storage: Folder for checkpoints and the registry (temporary by default).

    Returns:
        The job's and the tuning run's reports.
    """
    console = console or Console()
    spec = demo_spec()
    with tempfile.TemporaryDirectory(prefix="trainplat-demo-") as tmp, ExitStack() as stack:
        root = storage or Path(tmp)
        uri: str | None = tracking_uri if mlflow else None
        if mlflow and uri is None:
            from aiinfra_shared.services.mlflow import mlflow as mlflow_server

            with console.status("starting mlflow server"):
                uri = stack.enter_context(mlflow_server(workdir=Path(tmp) / "mlflow")).url
        with console.status("starting a local Ray instance"):
            connect(temp_dir=Path(tmp) / "ray")
        stack.callback(disconnect)
        if dashboard_url():
            console.print(f"Ray dashboard: {dashboard_url()} (jobs, actors, logs)")
        console.rule("1. submit: 2 Ray Train workers, rank 1 fails at epoch 3")
        with console.status("training (worker start-up ~30 s, then a failure and a restart)"):
            job = submit(spec, root, tracking_uri=uri)
        console.print(job_table(job))
        console.print(
            f"restored from the epoch-{job.restored_from_epoch} checkpoint; "
            f"best checkpoint: {job.checkpoint}"
        )
        console.rule("2. tune: 4 trials, ASHA")
        with console.status("tuning"):
            search = tune(spec, root, tracking_uri=uri)
        console.print(tune_table(search))
        console.print(registry_table(registry.entries(root)))
        if uri:
            console.print(
                f"MLflow ({uri}): experiment '{spec.experiment}' run "
                f"{job.mlflow_run_id}, experiment '{search.mlflow_experiment}' "
                f"with {len(search.trials)} trial runs"
            )
        return job, search
