"""``exptrack demo``: the whole lifecycle against a real MLflow server, in about a minute.

1. start ``mlflow server`` (SQLite + local artifacts) unless ``--tracking-uri`` names one;
2. run a sweep: six trials as nested runs, with a progress bar;
3. register the best run and promote it to ``champion`` through the gates;
4. try to promote a deliberately weak model: the gates refuse it, the champion stays;
5. show the runs table, the registry, predictions from ``models:/<name>@champion``, and
   write ``compare.png``/``compare.html``;
6. print the UI address; stop the server (or keep it up with ``--keep``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from exptrack.config import ExptrackSettings
from exptrack.errors import GateRefusedError

WEAK_TRIAL = "logreg:alpha=5,epochs=1"


@contextmanager
def _server(uri: str | None, workdir: Path, console: Console) -> Iterator[str]:
    if uri:
        yield uri
        return
    from aiinfra_shared.services import mlflow as mlflow_service

    with console.status("starting mlflow server (SQLite, 1 worker; 30-90 s on a laptop)..."):
        started = time.perf_counter()
        service = mlflow_service.mlflow(workdir=workdir / "server")
        running = service.__enter__()
    console.print(f"mlflow server up at {running.url} in {time.perf_counter() - started:.0f} s")
    try:
        yield running.url
    finally:
        service.__exit__(None, None, None)


def run_demo(
    settings: ExptrackSettings,
    *,
    out: Path | None = None,
    keep: bool = False,
    trials: list[str] | None = None,
    console: Console | None = None,
) -> dict[str, object]:
    """Run the demo; return what it showed (for tests): champion version, refused version."""
    from exptrack import registry
    from exptrack.compare import top_runs, write_report
    from exptrack.data import load_dataset
    from exptrack.models import ModelSpec
    from exptrack.predict import predict
    from exptrack.server import connect
    from exptrack.sweep import DEFAULT_TRIALS, run_sweep
    from exptrack.train import train_run

    console = console or Console()
    out = out or Path(tempfile.mkdtemp(prefix="exptrack-demo-"))
    summary: dict[str, object] = {}
    with _server(settings.tracking_uri, out, console) as uri:
        client = connect(uri, settings.experiment)
        data = load_dataset(settings.dataset, seed=settings.seed)
        console.rule(f"sweep on {data.name} ({len(data.train)} train / {len(data.val)} val rows)")
        sweep = run_sweep(
            data, trials or list(DEFAULT_TRIALS), metric=settings.metric, seed=settings.seed
        )
        console.print(
            f"best: [bold]{sweep.best.spec.label}[/] "
            f"{settings.metric}={sweep.best.metrics[settings.metric]:.4f}"
        )

        gates = registry.GateConfig(settings.min_accuracy, settings.min_f1, settings.tolerance)
        console.rule("promotion")
        mv = registry.register(client, settings.model_name, sweep.best.run_id)
        try:
            result = registry.promote(client, settings.model_name, str(mv.version), gates)
            console.print(f"v{mv.version} is [green]champion[/]")
            for gate in result.gates:
                console.print(f"  [green]pass[/] {gate.name}: {gate.detail}")
        except GateRefusedError as exc:
            console.print(f"[yellow]{exc}[/]")
        weak = train_run(
            ModelSpec.parse(*WEAK_TRIAL.split(":")),
            data,
            seed=settings.seed,
            run_name="weak-challenger",
        )
        weak_mv = registry.register(client, settings.model_name, weak.run_id)
        try:
            registry.promote(client, settings.model_name, str(weak_mv.version), gates)
        except GateRefusedError as exc:
            console.print(f"weak challenger v{weak_mv.version} [red]refused[/]:")
            for reason in exc.reasons:
                console.print(f"  [red]FAIL[/] {reason}")
            summary["refused"] = str(weak_mv.version)
        champion = registry.alias_version(client, settings.model_name, registry.CHAMPION)
        summary["champion"] = str(champion.version) if champion else None

        console.rule("runs")
        runs = top_runs(client, settings.experiment, settings.metric, limit=10)
        table = Table("run", "kind", settings.metric, "val_accuracy", "val_roc_auc", "epochs")
        for row in runs.itertuples():
            table.add_row(
                str(row.run_name),
                str(row.model_kind),
                f"{getattr(row, settings.metric):.4f}",
                f"{row.val_accuracy:.4f}",
                f"{row.val_roc_auc:.4f}",
                f"{row.epochs:.0f}",
            )
        console.print(table)
        png, page = write_report(client, runs, settings.metric, out)
        console.print(f"comparison plot: {png}\ncomparison page: {page}")

        console.rule("registry")
        versions = registry.versions_table(client, settings.model_name)
        vtable = Table(*[str(c) for c in versions.columns if c != "run_id"])
        for row in versions.drop(columns=["run_id"]).itertuples(index=False):
            vtable.add_row(*[str(v) for v in row])
        console.print(vtable)

        sample = data.holdout.head(8)
        labels = predict(settings.model_name, sample)
        console.print(
            f"models:/{settings.model_name}@champion on 8 held-out rows: "
            f"predicted {labels.astype(int).tolist()}, true {sample['target'].astype(int).tolist()}"
        )
        summary["predictions"] = labels.astype(int).tolist()
        console.print(
            Panel(
                f"MLflow UI: [bold]{uri}[/]  (experiment {settings.experiment!r}, model "
                f"{settings.model_name!r})",
                title="open in a browser",
            )
        )
        if keep:
            console.print("server kept up: Ctrl+C to stop")
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
    return summary
