"""The ``trainplat`` command: validate, submit, tune, status, bench, demo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from aiinfra_shared.cliapp import console, package_app, run_typer
from trainplat import registry
from trainplat.config import Settings
from trainplat.errors import TrainplatError
from trainplat.spec import load

app = package_app(
    "A training platform on Ray: job specs run as Ray Train TorchTrainer jobs with fault "
    "tolerance and checkpoints, Ray Tune (ASHA) searches, MLflow tracking."
)

SpecArg = Annotated[Path, typer.Argument(help="Job spec (YAML).")]
Address = Annotated[
    str | None, typer.Option(help="Ray cluster address (auto, ray://host:10001); default local.")
]
Tracking = Annotated[
    str | None, typer.Option(help="MLflow tracking URI (default $MLFLOW_TRACKING_URI; none: off).")
]
Storage = Annotated[Path | None, typer.Option(help="Checkpoints, results, registry.")]
Replace = Annotated[
    bool, typer.Option("--replace", help="Delete an earlier run of the same name first.")
]


def _settings(storage: Path | None, tracking: str | None) -> tuple[Settings, Path, str | None]:
    settings = Settings()
    uri = tracking or settings.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    return settings, storage or settings.storage, uri


def _connect(settings: Settings, address: str | None) -> None:
    from trainplat.cluster import connect

    with console.status("connecting to Ray"):
        connect(address or settings.ray_address, num_cpus=settings.num_cpus)


@app.command()
def validate(spec: SpecArg) -> None:
    """Check a spec without running it; print it with every default filled in."""
    job = load(spec)
    console.print_json(job.model_dump_json())


@app.command()
def submit(
    spec: SpecArg,
    address: Address = None,
    tracking_uri: Tracking = None,
    storage: Storage = None,
    replace: Replace = False,
) -> None:
    """Run a job on Ray Train (waits; a failed worker group is replaced from a checkpoint)."""
    from trainplat.platform import claim
    from trainplat.platform import submit as run_job
    from trainplat.report import job_table

    job_spec = load(spec)
    settings, folder, uri = _settings(storage, tracking_uri)
    claim(folder.resolve() / job_spec.name, replace)  # refuse before Ray starts
    _connect(settings, address)
    with console.status(f"job {job_spec.name}: {job_spec.scaling.num_workers} workers"):
        report = run_job(job_spec, folder, tracking_uri=uri, replace=replace)
    console.print(job_table(report))
    if report.restored_from_epoch:
        console.print(
            f"a worker group failed and was replaced; it resumed from the "
            f"epoch-{report.restored_from_epoch} checkpoint"
        )
    console.print(f"best checkpoint: {report.checkpoint}")
    if report.mlflow_run_id:
        console.print(f"MLflow run {report.mlflow_run_id} ({uri})")


@app.command()
def tune(
    spec: SpecArg,
    address: Address = None,
    tracking_uri: Tracking = None,
    storage: Storage = None,
    replace: Replace = False,
) -> None:
    """Search the spec's hyperparameter space with Ray Tune and ASHA."""
    from trainplat.platform import claim
    from trainplat.platform import tune as run_tune
    from trainplat.report import tune_table

    job_spec = load(spec)
    if job_spec.tune is None:
        raise TrainplatError(f"{spec} has no 'tune' section (search_space, num_samples, ...)")
    settings, folder, uri = _settings(storage, tracking_uri)
    claim(folder.resolve() / f"{job_spec.name}-tune", replace)
    _connect(settings, address)
    with console.status(f"tuning {job_spec.name}: {job_spec.tune.num_samples} trials"):
        report = run_tune(job_spec, folder, tracking_uri=uri, replace=replace)
    console.print(tune_table(report))
    console.print(f"best checkpoint: {report.best_checkpoint}")


@app.command()
def status(storage: Storage = None) -> None:
    """Jobs and tuning runs recorded under the storage folder."""
    from trainplat.report import registry_table

    folder = storage or Settings().storage
    entries = registry.entries(folder)
    if not entries:
        console.print(f"no jobs recorded under {folder}")
        return
    console.print(registry_table(entries))


@app.command()
def bench(
    spec: Annotated[Path | None, typer.Argument(help="Spec (default: the built-in tiny).")] = None,
    workers: Annotated[str, typer.Option(help="Worker counts, comma separated.")] = "1,2",
    out: Annotated[Path, typer.Option(help="Folder for JSON and PNG.")] = Path(
        "runs/trainplat/bench"
    ),
    address: Address = None,
) -> None:
    """Ray Train scaling: samples/s on 1 vs N workers (honest about this host's cores)."""
    from trainplat.bench import markdown, run, save
    from trainplat.spec import builtin

    try:
        counts = [int(w) for w in workers.split(",") if w.strip()]
    except ValueError as exc:
        raise TrainplatError(f"--workers must be comma-separated integers: {workers!r}") from exc
    if not counts or min(counts) < 1:
        raise TrainplatError(f"--workers needs positive counts, e.g. 1,2 (got {workers!r})")
    job_spec = load(spec) if spec else builtin("tiny")
    settings = Settings()
    _connect(settings, address)
    with console.status(f"benchmarking {counts} workers"):
        rows = run(job_spec, counts, out / "storage")
    console.print(markdown(rows))
    label = "gpu" if job_spec.scaling.use_gpu else "cpu"
    console.print(f"wrote {save(rows, out, label)}")


@app.command()
def demo(
    mlflow: Annotated[bool, typer.Option(help="Track in a local mlflow server.")] = True,
) -> None:
    """Show the platform working (what `aiinfra run 201` runs)."""
    from trainplat.demo import run_demo

    # Under `aiinfra run 201` the mlflow service is already up: MLFLOW_TRACKING_URI says where.
    uri = Settings().tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    run_demo(mlflow=mlflow, tracking_uri=uri, console=console)


main = run_typer(app)
