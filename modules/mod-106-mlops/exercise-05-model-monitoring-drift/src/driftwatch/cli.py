"""The ``driftwatch`` command: generate, analyze, monitor, rules, demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.markup import escape

from aiinfra_shared.cliapp import console, package_app, run_typer
from driftwatch import data
from driftwatch.config import DriftwatchSettings
from driftwatch.errors import DriftwatchError

app = package_app(
    "Drift monitoring with Evidently: reports, Prometheus metrics, a retraining trigger."
)


@app.command()
def generate(
    out: Annotated[Path, typer.Argument(help="CSV file to write.")],
    scenario: Annotated[
        str, typer.Option(help=f"Drift scenario: {', '.join(data.SCENARIOS)}.")
    ] = "none",
    rows: Annotated[int, typer.Option(min=1, help="Rows.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Write one window of the loan-default data (features and the label) to CSV."""
    frame = data.generate(rows, seed=seed, drift=data.scenario(scenario))
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    console.print(f"wrote {len(frame)} rows ({scenario}) to {out}")


@app.command()
def analyze(
    reference: Annotated[Path, typer.Argument(help="Reference window (CSV).")],
    current: Annotated[Path, typer.Argument(help="Current window (CSV).")],
    out: Annotated[Path, typer.Option(help="Folder for report.html and report.json.")] = Path(
        "driftwatch-out"
    ),
    drift_share: Annotated[
        float, typer.Option(help="Share of drifted features that means dataset drift.")
    ] = 0.5,
    fail_on_drift: Annotated[
        bool, typer.Option(help="Exit with code 2 on dataset drift (for pipelines).")
    ] = False,
) -> None:
    """Compare two CSV windows with Evidently; save the HTML report and a JSON summary."""
    from driftwatch.analysis import analyze as run_analysis
    from driftwatch.view import drift_table

    ref = data.load_csv(reference)
    cur = data.load_csv(current)
    with console.status("running the Evidently report ..."):
        summary = run_analysis(
            ref, cur, drift_share=drift_share, out_dir=out, name="report", full=True
        )
    console.print(drift_table(summary))
    console.print(f"report: {summary.report_html}\nsummary: {out / 'report.json'}")
    if fail_on_drift and summary.dataset_drift:
        raise typer.Exit(2)


def _slug(folder: Path) -> str:
    """A state file name per watched folder (its resolved path, readable and unique)."""
    import hashlib

    resolved = folder.resolve()
    return f"{resolved.name}-{hashlib.sha256(str(resolved).encode()).hexdigest()[:10]}"


@app.command()
def monitor(
    folder: Annotated[
        Path | None,
        typer.Option(help="Folder of window CSVs (and *.labels.csv); default: generated data."),
    ] = None,
    reference: Annotated[
        Path | None, typer.Option(help="Labelled reference CSV (needed with --folder).")
    ] = None,
    plan: Annotated[
        str, typer.Option(help="Generated windows: comma-separated scenario names.")
    ] = "none,none,covariate,covariate,missing,new_category,concept,concept",
    follow: Annotated[bool, typer.Option(help="Keep watching --folder for new files.")] = False,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve /metrics on this port (0: a free one).")
    ] = None,
    metrics_host: Annotated[
        str | None, typer.Option(help="Address of /metrics (default DRIFTWATCH_METRICS_HOST).")
    ] = None,
    webhook: Annotated[str | None, typer.Option(help="POST retrain requests here.")] = None,
    command: Annotated[
        str | None, typer.Option(help="Run this with each retrain request on stdin.")
    ] = None,
) -> None:
    """Analyse windows one after another; export metrics; request retrains by policy.

    With --folder, what was analysed is remembered (DRIFTWATCH_OUT_DIR/state/): a re-run
    skips it and keeps the policy's streak and cooldown. A bad file is moved to
    <folder>/quarantine/ with its reason; a window under DRIFTWATCH_MIN_WINDOW_ROWS rows is
    not analysed."""

    from driftwatch.exporter import DriftMetrics, MetricsServer
    from driftwatch.monitor import (
        FolderState,
        Monitor,
        WindowResult,
        scenario_stream,
        watch_folder,
    )
    from driftwatch.policy import CommandHook, Hook, WebhookHook
    from driftwatch.view import monitor_table

    settings = DriftwatchSettings()
    hooks: list[Hook] = []
    if webhook or settings.webhook_url:
        hooks.append(WebhookHook(webhook or settings.webhook_url or ""))
    if command or settings.retrain_command:
        hooks.append(CommandHook(command or settings.retrain_command or ""))
    if folder is not None and reference is None:
        raise DriftwatchError("--folder needs --reference (the labelled training window)")
    if folder is not None and not folder.is_dir():
        raise DriftwatchError(f"{folder}: no such folder")
    metrics = DriftMetrics()
    server = None
    if metrics_port is not None:
        host = metrics_host or settings.metrics_host
        server = MetricsServer(metrics.registry, port=metrics_port, host=host)
        console.print(f"metrics on http://{server.target}/metrics")
    out = Path(settings.out_dir)
    results: list[WindowResult] = []
    try:
        if folder is not None and reference is not None:
            ref = data.load_csv(reference, require_target=True)
            mon = Monitor.from_settings(ref, settings, out_dir=out, hooks=hooks, metrics=metrics)
            state = FolderState.load(out / "state" / f"{_slug(folder)}.json")
            with Live(monitor_table(results), console=console, refresh_per_second=4) as live:
                for event in watch_folder(mon, folder, state, follow=follow):
                    if event.result is not None:
                        results.append(event.result)
                        live.update(monitor_table(results))
                    else:
                        live.console.print(f"{event.name}: {event.kind}: {escape(event.detail)}")
        else:
            ref = data.generate(settings.reference_rows, seed=settings.seed)
            mon = Monitor.from_settings(ref, settings, out_dir=out, hooks=hooks, metrics=metrics)
            stream = scenario_stream(
                [p.strip() for p in plan.split(",") if p.strip()],
                rows=settings.window_rows,
                seed=settings.seed,
            )
            with Live(monitor_table(results), console=console, refresh_per_second=4) as live:
                for window in stream:
                    results.append(mon.process(window))
                    live.update(monitor_table(results))
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        if server is not None:
            server.close()
    requested = sum(r.request is not None for r in results)
    console.print(
        f"\n{len(results)} windows, {requested} retrain request(s); reports in {out / 'reports'}, "
        f"outbox {out / 'outbox.jsonl'}"
    )


@app.command()
def rules() -> None:
    """Check the shipped alert rules and run their unit tests with promtool."""
    from driftwatch.rules import check_rules, rules_dir, run_rule_tests

    failed = False
    for name, result in (("check rules", check_rules()), ("test rules", run_rule_tests())):
        console.print(
            f"promtool {name} ({rules_dir()}): "
            + ("[green]ok[/]" if result.ok else "[red]FAILED[/]")
        )
        if not result.ok:
            console.print(result.output, highlight=False)
            failed = True
    if failed:
        raise typer.Exit(1)


@app.command()
def demo(
    rows: Annotated[int, typer.Option(min=100, help="Rows per window.")] = 600,
) -> None:
    """No-drift windows then drift: report, metrics in a real Prometheus, the retrain trigger."""
    from driftwatch.demo import run_demo

    run_demo(DriftwatchSettings(), console, rows=rows)


@app.command(hidden=True)
def summary(path: Path) -> None:
    """Print a saved JSON summary (``report.json``) as a table."""
    from driftwatch.analysis import ColumnDrift, DriftSummary
    from driftwatch.view import drift_table

    try:
        raw = json.loads(path.read_text())
        raw["columns"] = [ColumnDrift(**c) for c in raw["columns"]]
        console.print(drift_table(DriftSummary(**raw)))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DriftwatchError(f"{path}: not a driftwatch summary ({exc})") from exc


main = run_typer(app)
