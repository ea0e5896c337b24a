"""The ``mlcicd`` command.

Exit codes: 0 done, 1 bad input or a failed step (one line on stderr), 2 bad usage,
3 a gate failed or a deployment was rolled back (the verdict is printed first).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from, sub_app
from mlcicd.config import Settings
from mlcicd.errors import MlcicdError

app = package_app(
    "106-06: CI/CD for ML: DVC-versioned data, quality gates, workflows, canary deploy with "
    "automatic rollback"
)
gate_app = sub_app("Quality gates: a verdict and its evidence, exit 3 when one fails.")
app.add_typer(gate_app, name="gate")

Project = Annotated[Path, typer.Option("--project", help="The DVC project folder (default: here).")]
Summary = Annotated[
    Path | None, typer.Option(help="Also write the verdict as Markdown here (for CI).")
]
Registry = Annotated[
    Path | None, typer.Option(help="Registry folder (default MLCICD_REGISTRY or mlcicd-registry).")
]


@app.command()
def init(
    target: Annotated[Path, typer.Argument(help="A new or empty folder.")],
    remote: Annotated[
        Path | None, typer.Option(help="DVC remote folder (default: <target>-dvc-remote).")
    ] = None,
    rows: Annotated[int, typer.Option(min=200, max=1_000_000, help="Rows of raw data.")] = 2000,
) -> None:
    """Create the template project: git + DVC, data, pipeline, workflows; first commit."""
    from mlcicd.project import init as make

    with console.status("git init, dvc init, dvc add, dvc repro, git commit, dvc push"):
        made = make(target, remote, rows=rows)
    console.print(f"project ready in {made} (try: dvc metrics show, dvc dag)")


@app.command()
def stage(
    name: Annotated[str, typer.Argument(help="prepare, train or evaluate.")],
    project: Project = Path(),
) -> None:
    """Run one pipeline stage (what `dvc repro` calls)."""
    from mlcicd.stages import STAGES

    if name not in STAGES:
        raise MlcicdError(f"unknown stage {name!r}; choose from {', '.join(STAGES)}")
    console.print(STAGES[name](project))


def _verdict(gate: object, summary: Path | None) -> None:
    from mlcicd.gates import Gate
    from mlcicd.report import print_gate

    assert isinstance(gate, Gate)
    print_gate(gate)
    if summary is not None:
        summary.write_text(gate.markdown(), encoding="utf-8")
    if not gate.passed:
        raise typer.Exit(3)


@gate_app.command("data")
def gate_data(
    data: Annotated[Path, typer.Argument(help="CSV to check.")],
    reference: Annotated[
        Path | None, typer.Option(help="Reference CSV for the drift checks.")
    ] = None,
    summary: Summary = None,
) -> None:
    """Schema, ranges, nulls, label balance and drift against a reference."""
    from mlcicd.data import read_csv
    from mlcicd.gates import data_gate

    frame = read_csv(data)
    ref = read_csv(reference) if reference is not None else None
    _verdict(data_gate(frame, ref), summary)


@gate_app.command("model")
def gate_model(
    project: Project = Path(),
    base: Annotated[
        str | None,
        typer.Option(help="Git revision of the production model: its metrics are the baseline."),
    ] = None,
    summary: Summary = None,
) -> None:
    """Thresholds, no regression vs BASE (`dvc metrics diff`), slices, invariance,
    directional tests, latency and size budgets."""
    from mlcicd import project as proj
    from mlcicd.data import read_csv
    from mlcicd.gates import model_gate
    from mlcicd.stages import MODEL, TEST, load_model

    model = load_model(project / MODEL)
    test = read_csv(project / TEST)
    baseline = proj.baseline(project, base) if base else None
    gate = model_gate(model, test, baseline=baseline)
    if base:
        changed = proj.params_diff(project, base)
        gate.details["params_diff"] = changed
        gate.skip(
            "params_changed",
            ", ".join(f"{k}: {v.get('old')} -> {v.get('new')}" for k, v in changed.items())
            or f"no parameter changed since {base}",
        )
    _verdict(gate, summary)


@app.command()
def register(
    project: Project = Path(),
    registry: Registry = None,
    alias: Annotated[str, typer.Option(help="Alias for the new version.")] = "staging",
) -> None:
    """Register the project's model in the MLflow registry, with its metrics and versions."""
    from mlcicd import registry as reg

    settings = settings_from(Settings, MlcicdError, registry=registry)
    version = reg.register_project(settings, project, alias=alias)
    console.print(f"registered version {version} of {settings.model_name} as {alias!r}")


@app.command()
def versions(registry: Registry = None) -> None:
    """The registered versions and their aliases."""
    from rich.table import Table

    from mlcicd import registry as reg

    settings = settings_from(Settings, MlcicdError, registry=registry)
    table = Table("version", "aliases", "roc_auc", "git commit", "note")
    for v in reg.versions(settings):
        table.add_row(v["version"], ", ".join(v["aliases"]), v["roc_auc"], v["commit"], v["note"])
    console.print(table)


@app.command()
def serve(
    registry: Registry = None,
    version: Annotated[str | None, typer.Option(help="Version to serve.")] = None,
    alias: Annotated[str, typer.Option(help="Alias to serve when no --version.")] = "production",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8090,
    host: Annotated[str | None, typer.Option(help="Interface (default 127.0.0.1).")] = None,
) -> None:
    """Serve one model version over HTTP (POST /predict, GET /health, GET /metrics)."""
    import uvicorn

    from mlcicd import registry as reg
    from mlcicd.server import create_app

    settings = settings_from(Settings, MlcicdError, registry=registry, host=host)
    loaded = reg.load(settings, version=version, alias=None if version else alias)
    console.print(f"serving {loaded.uri} on http://{settings.host}:{port}")
    uvicorn.run(create_app(loaded), host=settings.host, port=port, log_level="warning")


@app.command()
def smoke(
    registry: Registry = None,
    version: Annotated[str | None, typer.Option(help="Version to test.")] = None,
    alias: Annotated[str, typer.Option(help="Alias to test when no --version.")] = "staging",
) -> None:
    """Start a server on the version, check /health and score sample rows; exit 3 if not."""
    from mlcicd import deploy

    settings = settings_from(Settings, MlcicdError, registry=registry)
    ok, evidence = deploy.smoke(settings, version=version, alias=alias)
    console.print(("smoke passed: " if ok else "smoke FAILED: ") + evidence)
    if not ok:
        raise typer.Exit(3)


@app.command("deploy")
def deploy_command(
    registry: Registry = None,
    version: Annotated[str | None, typer.Option(help="Version to roll out.")] = None,
    alias: Annotated[str, typer.Option(help="Alias to roll out when no --version.")] = "staging",
    clients: Annotated[
        int, typer.Option(min=0, max=64, help="Synthetic clients sending traffic meanwhile.")
    ] = 8,
    steps: Annotated[str, typer.Option(help="Canary traffic percentages.")] = "10,50,100",
) -> None:
    """Canary rollout to production: health gate, shift traffic step by step, watch error
    rate and p95 on the servers' /metrics, roll back by itself when they regress."""
    from mlcicd import deploy
    from mlcicd.report import print_rollout

    settings = settings_from(Settings, MlcicdError, registry=registry)
    result = deploy.rollout(
        settings, version=version, alias=alias, clients=clients, steps=deploy.parse_steps(steps)
    )
    print_rollout(result)
    if not result.promoted:
        raise typer.Exit(3)


@app.command()
def demo(
    workdir: Annotated[
        Path | None, typer.Option(help="Where the demo writes (default: a temp dir).")
    ] = None,
) -> None:
    """A project under CI/CD: DVC, gates on a good and a bad change, register, canary
    deploy, and a bad version rolled back with no failed request (about 1 min)."""
    from mlcicd.demo import run as run_demo

    run_demo(workdir)


main = run_typer(app)
