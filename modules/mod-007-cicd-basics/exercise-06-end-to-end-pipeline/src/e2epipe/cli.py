"""The ``e2epipe`` command.

Exit codes: 0 done, 1 bad input or a failed stage (one line on stderr), 2 bad usage,
3 the model trained but is not production-ready (only with ``--require-ready``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from
from e2epipe.config import Settings, load_params
from e2epipe.errors import E2epipeError

app = package_app(
    "007-06: End-to-end ML pipeline: ingest (CSV/Parquet, schema checked) -> validate -> "
    "features -> train (CV search over three model families) -> evaluate (readiness "
    "checklist) -> register (MLflow) -> serve (FastAPI)."
)

Workdir = Annotated[
    Path | None,
    typer.Option(help="Work folder: MLflow store, artifacts, reports (default e2epipe-work)."),
]


@app.command()
def generate(
    out: Annotated[Path, typer.Argument(help="Output file (.csv or .parquet).")],
    rows: Annotated[int, typer.Option(min=50, max=5_000_000, help="Customers.")] = 3000,
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 42,
) -> None:
    """Write a synthetic customer-churn table (the pipeline's input)."""
    from e2epipe.data import generate as make
    from e2epipe.data import write

    frame = make(rows, seed)
    write(frame, out)
    console.print(f"wrote {len(frame)} rows to {out} (churn rate {frame['churned'].mean():.1%})")


@app.command()
def validate(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    params: Annotated[Path | None, typer.Option(help="params.yaml.")] = None,
) -> None:
    """Ingest and validate a data file; exit 1 if the validate stage would fail."""
    from e2epipe.data import ingest
    from e2epipe.data import validate as check

    report = check(ingest(data), load_params(params).max_reject_fraction)
    summary = report.summary()
    console.print(
        f"{summary['rows_in']} rows: {summary['accepted']} accepted, "
        f"{summary['rejected']} rejected, {summary['duplicates_dropped']} duplicates"
    )
    for reason, count in summary["rejected_reasons"].items():
        console.print(f"  {count:>5}  {reason}")
    if not report.ok:
        raise E2epipeError("; ".join(report.errors))


@app.command()
def run(
    data: Annotated[Path | None, typer.Option(help="CSV or Parquet (default: generated).")] = None,
    params: Annotated[Path | None, typer.Option(help="params.yaml (default: built in).")] = None,
    workdir: Workdir = None,
    quick: Annotated[bool, typer.Option(help="One point per search grid.")] = False,
    require_ready: Annotated[
        bool, typer.Option(help="Exit 3 when the readiness checklist fails (for CI).")
    ] = False,
) -> None:
    """Run every stage through registration in MLflow."""
    from e2epipe.report import print_run, run_with_progress

    settings = settings_from(Settings, E2epipeError, workdir=workdir)
    parameters = load_params(params)
    if quick:
        parameters = parameters.model_copy(update={"quick": True})
    if data is None:
        from e2epipe.data import generate as make
        from e2epipe.data import write

        data = write(make(3000, parameters.seed), settings.workdir / "data" / "customers.csv")
    result = run_with_progress(data, settings, parameters)
    print_run(result)
    if require_ready and not result.ready:
        raise typer.Exit(3)


@app.command()
def versions(workdir: Workdir = None) -> None:
    """The registered versions, their readiness and aliases."""
    from e2epipe.registry import versions as list_versions

    settings = settings_from(Settings, E2epipeError, workdir=workdir)
    if not (settings.workdir / "mlflow.db").is_file():
        raise E2epipeError(f"{settings.workdir}: no registry yet; run `e2epipe run` first")
    table = Table("version", "ready", "aliases", "run")
    for v in list_versions(settings):
        table.add_row(v["version"], str(v["ready"]), ", ".join(v["aliases"]), v["run_id"])
    console.print(table)


@app.command()
def serve(
    workdir: Workdir = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port.")] = None,
    host: Annotated[str | None, typer.Option(help="Interface (default 127.0.0.1).")] = None,
    version: Annotated[
        str | None, typer.Option(help="Serve this version, not the champion (a blue/green slot).")
    ] = None,
) -> None:
    """Serve the champion over HTTP (POST /predict, POST /reload, /health, /metrics)."""
    import uvicorn

    from e2epipe.server import create_app

    settings = settings_from(
        Settings, E2epipeError, workdir=workdir, port=port, host=host, model_version=version
    )
    if not (settings.workdir / "mlflow.db").is_file():
        raise E2epipeError(f"{settings.workdir}: no registry yet; run `e2epipe run` first")
    console.print(f"e2epipe serving on http://{settings.host}:{settings.port}")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


@app.command()
def demo(
    workdir: Annotated[
        Path | None, typer.Option(help="Where the demo writes (default: a temp dir).")
    ] = None,
) -> None:
    """Generate data, run the pipeline, serve the model, score customers, retrain with dirty
    data, hot-reload the new champion, refuse a broken reload (about 40 s)."""
    from e2epipe.demo import run as run_demo

    run_demo(workdir)


main = run_typer(app)
