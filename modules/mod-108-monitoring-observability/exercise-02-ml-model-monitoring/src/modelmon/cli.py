"""The ``modelmon`` command: serve, traffic, scorecard, dashboard, rules, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aiinfra_shared.cliapp import console, package_app, run_typer
from modelmon.config import ModelmonSettings

app = package_app("ML model monitoring: an instrumented service, tested alert rules, a scorecard.")


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="Port (default MODELMON_PORT, 8000).")] = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
) -> None:
    """Run the instrumented model service (uvicorn)."""
    import uvicorn

    settings = ModelmonSettings()
    uvicorn.run(
        "modelmon.service:app_from_env",
        factory=True,
        host=host or settings.host,
        port=port if port is not None else settings.port,
        log_level="info",
    )


@app.command()
def traffic(
    url: Annotated[str, typer.Option(help="Service URL.")] = "http://127.0.0.1:8000",
    seconds: Annotated[float, typer.Option(min=1, help="How long to send.")] = 30,
    drift: Annotated[float, typer.Option(min=0, max=1, help="Input shift.")] = 0.0,
    concept: Annotated[float, typer.Option(min=0, max=1, help="Fraud pattern change.")] = 0.0,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight.")] = 8,
) -> None:
    """Send transactions and, a moment later, their true labels."""
    import httpx

    from modelmon import loadgen
    from modelmon.errors import ModelmonError

    try:
        with console.status(f"sending traffic to {url} for {seconds:.0f} s ..."):
            stats = loadgen.run(
                url, seconds=seconds, drift=drift, concept=concept, concurrency=concurrency
            )
    except httpx.TransportError as exc:
        raise ModelmonError(f"cannot reach the service at {url}: {exc}") from exc
    console.print(
        f"{stats.sent} sent, {stats.ok} ok, {stats.failed} failed, {stats.feedback} labels; "
        f"status codes {stats.status_codes}"
    )


@app.command("scorecard")
def scorecard_cmd(
    prometheus_url: Annotated[
        str | None, typer.Option("--prometheus", help="Prometheus URL (AIINFRA_PROMETHEUS_URL).")
    ] = None,
    window: Annotated[str, typer.Option(help="Rate window of the checks.")] = "5m",
    fail_on_red: Annotated[bool, typer.Option(help="Exit 2 when the card is RED.")] = False,
) -> None:
    """Grade the service from the real Prometheus HTTP API."""
    import os

    from modelmon import scorecard

    settings = ModelmonSettings()
    url = prometheus_url or os.environ.get("AIINFRA_PROMETHEUS_URL") or settings.prometheus_url
    card = scorecard.evaluate(url, scorecard.checks(window, settings.latency_slo_seconds))
    console.print(scorecard.render(card))
    if fail_on_red and card.status == "RED":
        raise typer.Exit(2)


@app.command()
def dashboard(
    out: Annotated[Path, typer.Option(help="Where to write the Grafana JSON.")] = Path(
        "modelmon-dashboard.json"
    ),
) -> None:
    """Write the Grafana dashboard (built from code) as JSON."""
    from modelmon import dashboard as builder

    path = builder.write(out)
    panels = [p for p in builder.build().to_json()["panels"] if p["type"] != "row"]
    console.print(f"wrote {path}: {len(panels)} panels (import it in Grafana)")


@app.command()
def rules() -> None:
    """Check the rules, run their unit tests and check the Prometheus config, with promtool."""
    from modelmon.assets import check_config, check_rules, run_rule_tests

    failed = False
    for name, result in (
        ("check rules", check_rules()),
        ("test rules", run_rule_tests()),
        ("check config", check_config()),
    ):
        console.print(f"promtool {name}: " + ("[green]ok[/]" if result.ok else "[red]FAILED[/]"))
        if not result.ok:
            console.print(result.output, highlight=False)
            failed = True
    if failed:
        raise typer.Exit(1)


@app.command()
def demo(
    healthy_seconds: Annotated[float, typer.Option(min=5)] = 15,
    degraded_seconds: Annotated[float, typer.Option(min=5)] = 25,
) -> None:
    """Service + Prometheus, healthy then degraded traffic; the scorecard turns red."""
    from modelmon.demo import run_demo

    run_demo(console, healthy_seconds=healthy_seconds, degraded_seconds=degraded_seconds)


main = run_typer(app)
