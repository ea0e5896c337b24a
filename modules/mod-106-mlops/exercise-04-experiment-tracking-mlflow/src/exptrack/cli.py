"""The ``exptrack`` command: train, sweep, promote, rollback, predict, compare, models, demo.

Exit codes: 0 done, 1 bad input or no server (one line on stderr), 2 bad usage,
3 promotion refused by a gate (the reasons on stderr; the champion did not move).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from
from aiinfra_shared.cliapp import err_console as err
from exptrack.config import ExptrackSettings
from exptrack.errors import ExptrackError, GateRefusedError


def _quiet_mlflow() -> None:
    """mlflow explains on every logged model that it could not find pip's version and that it
    saw a uv project: true, and irrelevant here (requirements are given explicitly)."""
    for name in ("mlflow.utils.environment", "mlflow.utils.uv_utils"):
        logging.getLogger(name).setLevel(logging.ERROR)


app = package_app(
    "106-04: experiment tracking and a gated model registry on a real MLflow server.",
    callback=_quiet_mlflow,
)

Uri = Annotated[
    str | None,
    typer.Option("--tracking-uri", help="MLflow server (default $MLFLOW_TRACKING_URI)."),
]
Experiment = Annotated[str | None, typer.Option("--experiment", "-e", help="Experiment name.")]
ModelName = Annotated[str | None, typer.Option("--model-name", "-m", help="Registered model.")]
Metric = Annotated[str | None, typer.Option("--metric", help="Ranking metric (default val_f1).")]


def _settings(**overrides: Any) -> ExptrackSettings:
    return settings_from(ExptrackSettings, ExptrackError, **overrides)


def _print_metrics(title: str, metrics: dict[str, float]) -> None:
    table = Table("metric", "value", title=title)
    for key, value in sorted(metrics.items()):
        table.add_row(key, f"{value:.4f}")
    console.print(table)


@app.command()
def train(
    kind: Annotated[
        str, typer.Option("--kind", "-k", help="logreg, forest, gbm or mlp.")
    ] = "forest",
    params: Annotated[str, typer.Option("--params", "-p", help="key=value,key=value")] = "",
    features: Annotated[
        str | None, typer.Option("--features", help="Comma-separated subset of the features.")
    ] = None,
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="breast_cancer or synthetic.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    tracking_uri: Uri = None,
    experiment: Experiment = None,
) -> None:
    """Train one model and log everything about it as one run."""
    from exptrack.data import load_dataset
    from exptrack.models import ModelSpec
    from exptrack.server import connect
    from exptrack.train import train_run

    s = _settings(tracking_uri=tracking_uri, experiment=experiment, dataset=dataset, seed=seed)
    spec = ModelSpec.parse(kind, params)
    chosen = [f.strip() for f in features.split(",")] if features else None
    data = load_dataset(s.dataset, seed=s.seed, features=chosen)
    connect(s.tracking_uri, s.experiment)
    with console.status(f"training {spec.label}..."):
        result = train_run(spec, data, seed=s.seed)
    console.print(f"run {result.run_id}: {spec.label}")
    _print_metrics("validation", result.metrics)
    console.print(f"model: {result.model_uri}")


@app.command()
def sweep(
    trial: Annotated[
        list[str] | None,
        typer.Option("--trial", "-t", help="kind:key=value,... (repeat; default: 6 trials)."),
    ] = None,
    dataset: Annotated[str | None, typer.Option("--dataset")] = None,
    metric: Metric = None,
    tracking_uri: Uri = None,
    experiment: Experiment = None,
) -> None:
    """Run a hyperparameter sweep: a parent run with one nested run per trial."""
    from exptrack.data import load_dataset
    from exptrack.server import connect
    from exptrack.sweep import DEFAULT_TRIALS, parse_trial, run_sweep

    s = _settings(tracking_uri=tracking_uri, experiment=experiment, dataset=dataset, metric=metric)
    trials = trial or list(DEFAULT_TRIALS)
    for t in trials:
        parse_trial(t)  # bad trials fail before anything is logged
    data = load_dataset(s.dataset, seed=s.seed)
    connect(s.tracking_uri, s.experiment)
    result = run_sweep(data, trials, metric=s.metric, seed=s.seed)
    table = Table("run", "trial", s.metric, title=f"sweep {result.parent_run_id}")
    for r in sorted(result.trials, key=lambda r: r.metrics[s.metric], reverse=True):
        mark = " (best)" if r is result.best else ""
        table.add_row(r.run_id, r.spec.label + mark, f"{r.metrics[s.metric]:.4f}")
    console.print(table)


@app.command()
def promote(
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Run whose model to register (default: best).")
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Promote an already registered version.")
    ] = None,
    metric: Metric = None,
    min_accuracy: Annotated[
        float | None, typer.Option(help="Gate: held-out accuracy floor.")
    ] = None,
    min_f1: Annotated[float | None, typer.Option(help="Gate: held-out F1 floor.")] = None,
    tolerance: Annotated[
        float | None, typer.Option(help="Gate: allowed F1 drop vs champion.")
    ] = None,
    tracking_uri: Uri = None,
    experiment: Experiment = None,
    model_name: ModelName = None,
) -> None:
    """Register a run's model as challenger and promote it to champion if the gates pass."""
    from exptrack import registry
    from exptrack.server import connect

    if run_id and version:
        raise ExptrackError("give --run-id or --version, not both")
    s = _settings(
        tracking_uri=tracking_uri,
        experiment=experiment,
        model_name=model_name,
        metric=metric,
        min_accuracy=min_accuracy,
        min_f1=min_f1,
        tolerance=tolerance,
    )
    client = connect(s.tracking_uri)
    if version is None:
        chosen = run_id or registry.best_run_id(client, s.experiment, s.metric)
        version = str(registry.register(client, s.model_name, chosen).version)
        console.print(f"run {chosen} is {s.model_name} v{version} ({registry.CHALLENGER})")
    gates = registry.GateConfig(s.min_accuracy, s.min_f1, s.tolerance)
    try:
        result = registry.promote(client, s.model_name, version, gates)
    except GateRefusedError as exc:
        err.print(
            f"[red]refused:[/] {s.model_name} v{version} stays {registry.CHALLENGER}; "
            "champion unchanged"
        )
        for reason in exc.reasons:
            err.print(f"  FAIL {reason}", highlight=False)
        raise typer.Exit(GateRefusedError.exit_code) from None
    for gate in result.gates:
        console.print(f"  pass {gate.name}: {gate.detail}", highlight=False)
    was = f"v{result.previous}" if result.previous else "none"
    console.print(f"[green]{s.model_name} v{version} is {registry.CHAMPION}[/] (was {was})")


@app.command()
def rollback(tracking_uri: Uri = None, model_name: ModelName = None) -> None:
    """Move ``champion`` back to the version it replaced."""
    from exptrack import registry
    from exptrack.server import connect

    s = _settings(tracking_uri=tracking_uri, model_name=model_name)
    client = connect(s.tracking_uri)
    old, new = registry.rollback(client, s.model_name)
    console.print(f"{s.model_name}: {registry.CHAMPION} moved from v{old} back to v{new}")


@app.command()
def predict(
    input_path: Annotated[
        Path | None, typer.Option("--input", "-i", help="CSV or JSON records to score.")
    ] = None,
    sample: Annotated[int, typer.Option("--sample", min=1, help="Score N held-out rows.")] = 5,
    alias: Annotated[str, typer.Option("--alias", help="Alias to load.")] = "champion",
    flavor: Annotated[str, typer.Option("--flavor", help="pyfunc or native.")] = "pyfunc",
    tracking_uri: Uri = None,
    model_name: ModelName = None,
) -> None:
    """Load ``models:/<name>@<alias>`` and predict (held-out rows unless --input is given)."""
    from exptrack.data import load_dataset
    from exptrack.predict import model_uri, read_input
    from exptrack.predict import predict as run_predict
    from exptrack.server import connect

    s = _settings(tracking_uri=tracking_uri, model_name=model_name)
    connect(s.tracking_uri)
    if input_path is not None:
        frame = read_input(input_path)
    else:
        frame = load_dataset(s.dataset, seed=s.seed).holdout.head(sample)
    labels = run_predict(s.model_name, frame, alias=alias, flavor=flavor)
    console.print(f"{model_uri(s.model_name, alias)} ({flavor})", highlight=False)
    table = Table("row", "prediction", *(["true"] if "target" in frame.columns else []))
    for i, label in enumerate(labels):
        extra = [str(int(frame["target"].iloc[i]))] if "target" in frame.columns else []
        table.add_row(str(i), str(int(label)), *extra)
    console.print(table)


@app.command()
def compare(
    metric: Metric = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Runs to show.")] = 10,
    out: Annotated[Path, typer.Option("--out", help="Folder for compare.png/.html.")] = Path(
        "tracking-report"
    ),
    tracking_uri: Uri = None,
    experiment: Experiment = None,
) -> None:
    """Table of the top runs by a metric, plus a PNG and an HTML page."""
    from exptrack.compare import top_runs, write_report
    from exptrack.server import connect

    s = _settings(tracking_uri=tracking_uri, experiment=experiment, metric=metric)
    client = connect(s.tracking_uri)
    runs = top_runs(client, s.experiment, s.metric, limit)
    table = Table(*runs.columns, title=f"top {len(runs)} runs of {s.experiment} by {s.metric}")
    for row in runs.itertuples(index=False):
        table.add_row(*[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)
    png, page = write_report(client, runs, s.metric, out)
    console.print(f"wrote {png} and {page}")


@app.command()
def models(tracking_uri: Uri = None, model_name: ModelName = None) -> None:
    """The registered model's versions, aliases and gate verdicts."""
    from exptrack import registry
    from exptrack.server import connect

    s = _settings(tracking_uri=tracking_uri, model_name=model_name)
    client = connect(s.tracking_uri)
    versions = registry.versions_table(client, s.model_name)
    table = Table(*versions.columns, title=s.model_name)
    for row in versions.itertuples(index=False):
        table.add_row(*[str(v) for v in row])
    console.print(table)


@app.command()
def demo(
    tracking_uri: Uri = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the server and report.")
    ] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the server up until Ctrl+C.")] = False,
    trial: Annotated[
        list[str] | None,
        typer.Option("--trial", "-t", help="Sweep these trials instead (repeat; a quicker demo)."),
    ] = None,
) -> None:
    """Start a server, sweep, promote (and refuse a weak model), compare, predict, stop."""
    from exptrack.demo import run_demo
    from exptrack.sweep import parse_trial

    for t in trial or []:
        parse_trial(t)  # bad trials fail before a server starts
    s = _settings(tracking_uri=tracking_uri)
    run_demo(s, out=out, keep=keep, trials=trial or None, console=console)


main = run_typer(app)
