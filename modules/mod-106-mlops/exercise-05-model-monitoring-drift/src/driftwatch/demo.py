"""``driftwatch demo`` (what ``aiinfra run 106-05`` runs): quiet windows, then drift.

It starts the metrics endpoint and a real Prometheus (which loads the shipped alert rules and
scrapes the endpoint every second), plus a small HTTP receiver standing in for the training
system's "retrain" API. Then it streams windows: three from the reference process, four with
severe drift (covariate shift, a new category and concept drift). It shows the monitor's
table live, the report files, what Prometheus now holds (through its HTTP API), the alerts it
has pending, and the retrain request the receiver got.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from aiinfra_shared.services import ServiceError
from aiinfra_shared.services import prometheus as prom
from driftwatch import data
from driftwatch.config import DriftwatchSettings
from driftwatch.exporter import DriftMetrics, MetricsServer
from driftwatch.monitor import Monitor, WindowResult, scenario_stream
from driftwatch.policy import WebhookHook
from driftwatch.rules import RULES_FILE, rules_dir
from driftwatch.view import monitor_table

logger = logging.getLogger(__name__)

PLAN = ("none", "none", "none", "severe", "severe", "severe", "severe")


class RetrainReceiver:
    """A tiny HTTP endpoint that accepts retrain requests (the training system's side)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/retrain"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop it."""
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def receiver() -> Iterator[RetrainReceiver]:
    """A running :class:`RetrainReceiver`, closed on exit."""
    rec = RetrainReceiver()
    try:
        yield rec
    finally:
        rec.close()


def run_demo(
    settings: DriftwatchSettings, console: Console, *, plan: tuple[str, ...] = PLAN, rows: int = 600
) -> list[WindowResult]:
    """Run the demo; returns the window results (the tests read them)."""
    out = Path(settings.out_dir) / "demo"
    shutil.rmtree(out, ignore_errors=True)
    reference = data.generate(settings.reference_rows, seed=settings.seed)
    metrics = DriftMetrics()
    results: list[WindowResult] = []
    console.print("[bold]driftwatch demo[/]: starting the metrics endpoint and Prometheus ...")
    with (
        receiver() as rec,
        MetricsServer(metrics.registry) as server,
        prom.prometheus(
            scrape_targets=[server.target], rule_files=[rules_dir() / RULES_FILE]
        ) as prometheus,
    ):
        console.print(
            f"  metrics  http://{server.target}/metrics\n  Prometheus  {prometheus.url}"
            f"  (scrapes every 1 s, rules {RULES_FILE})\n  retrain webhook  {rec.url}"
        )
        monitor = Monitor.from_settings(
            reference, settings, out_dir=out, hooks=[WebhookHook(rec.url)], metrics=metrics
        )
        console.print(
            f"reference: {len(reference)} rows, model accuracy {monitor.baseline_accuracy:.1%}; "
            f"streaming {len(plan)} windows of {rows} rows: {', '.join(plan)}"
        )
        with Live(monitor_table(results), console=console, refresh_per_second=4) as live:
            for i, window in enumerate(scenario_stream(plan, rows=rows, seed=settings.seed)):
                results.append(monitor.process(window))
                live.update(monitor_table(results))
                # Let Prometheus scrape this window before the next one replaces it.
                prom.wait_for(
                    prometheus.url,
                    "sum(driftwatch_windows_analyzed_total)",
                    _at_least(i + 1),
                    timeout=20,
                )
        console.print()
        if results and results[-1].drift.dataset_drift:
            _await_alert(prometheus.url, "DriftwatchDatasetDrift")
        _show_prometheus(console, prometheus.url)
        last = results[-1].drift.report_html
        console.print(f"\nEvidently reports: {out / 'reports'}  (latest: {last})")
        if rec.received:
            request = rec.received[0]
            console.print(
                f"[bold magenta]retrain requested[/] at window {request['window']} "
                f"(id {request['id'][:8]}): " + "; ".join(request["reasons"])
            )
        console.print(f"retrain outbox: {out / 'outbox.jsonl'}")
    return results


def _at_least(n: int) -> Callable[[list[prom.Sample]], bool]:
    """A ``wait_for`` condition: the first sample's value has reached ``n``."""

    def reached(samples: list[prom.Sample]) -> bool:
        return bool(samples) and samples[0].value >= n

    return reached


def _await_alert(url: str, name: str, timeout: float = 15.0) -> None:
    """Give Prometheus' rule evaluation (its own 1 s tick, not tied to the scrape) time to
    see the last window; a timeout is not fatal, the table below then shows what is there."""
    try:
        prom.wait_for(url, f'ALERTS{{alertname="{name}"}}', bool, timeout=timeout)
    except ServiceError:
        logger.warning("alert %s not active after %.0f s", name, timeout)


def _show_prometheus(console: Console, url: str) -> None:
    table = Table(title=f"in Prometheus ({url}/api/v1/query)", title_justify="left")
    table.add_column("PromQL")
    table.add_column("result")
    queries = {
        "driftwatch_dataset_drift": "latest window drifted (1) or not (0)",
        "min_over_time(driftwatch_drift_share_ratio[5m])": "quietest window's drift share",
        "max_over_time(driftwatch_drift_share_ratio[5m])": "worst window's drift share",
        "driftwatch_feature_drifted == 1": "features drifted now",
        "driftwatch_model_accuracy": "accuracy from late labels",
        "driftwatch_model_baseline_accuracy": "reference accuracy",
        "driftwatch_retrain_requests_total": "retrain requests",
    }
    for expr in queries:
        samples = prom.query(url, expr)
        if expr.endswith("== 1"):
            shown = ", ".join(sorted(s.labels.get("feature", "?") for s in samples)) or "none"
        else:
            shown = ", ".join(f"{s.value:.3g}" for s in samples) or "no data"
        table.add_row(expr, shown)
    console.print(table)
    active = Counter((a["labels"]["alertname"], a["state"]) for a in prom.alerts(url))
    if active:
        console.print(
            "alerts: "
            + ", ".join(f"{name} {state} x{n}" for (name, state), n in sorted(active.items()))
            + "\n[dim](the rules wait minutes to hours ('for:') before firing: pending is as "
            "far as a two-minute demo gets)[/]"
        )
