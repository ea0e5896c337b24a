"""`obsstack demo`: start the stack, break the service, watch the alert arrive and resolve."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from rich.table import Table

from aiinfra_shared.cliapp import console
from aiinfra_shared.services.prometheus import query
from obsstack import dashboards
from obsstack.client import TrafficStats, call, send_traffic, wait_for_notification
from obsstack.pushing import push_batch_job
from obsstack.stack import running_stack


def _traffic(url: str, stop: threading.Event, out: list[TrafficStats]) -> None:
    out.append(send_traffic(url, seconds=3600, rps=25, stop=stop))


def run(workdir: Path | None = None, *, error_rate: float = 0.3) -> dict[str, float]:
    """Run the demo; returns its measured timings (seconds)."""
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="obsstack-demo-"))
    timings: dict[str, float] = {}
    started = time.monotonic()
    with console.status("starting Prometheus, Alertmanager, exporters, collector, store, service"):
        stack_cm = running_stack(root / "stack", scale=60, fast=True)
        urls = stack_cm.__enter__()
    try:
        timings["stack up"] = time.monotonic() - started
        table = Table("component", "url", title=f"stack up in {timings['stack up']:.1f} s")
        for name, url in urls.as_dict().items():
            table.add_row(name, url)
        console.print(table)
        push_batch_job(urls.pushgateway, "nightly-retrain", rows=125_000, seconds=42.0)
        console.print("pushed nightly-retrain's last success to the Pushgateway")

        stop = threading.Event()
        stats: list[TrafficStats] = []
        sender = threading.Thread(target=_traffic, args=(urls.service, stop, stats), daemon=True)
        sender.start()
        with console.status("healthy traffic (25 req/s) for 8 s"):
            time.sleep(8)
        up = query(urls.prometheus, "up")
        console.print(
            f"Prometheus scrapes {len(up)} targets, "
            f"{sum(s.value == 1 for s in up)} up: {sorted(s.labels['job'] for s in up)}"
        )

        console.rule(f"[bold]inject faults: {error_rate:.0%} of /predict fail")
        call("PUT", f"{urls.service}/admin/faults", json={"error_rate": error_rate})
        broke = time.monotonic()
        with console.status("waiting for ErrorBudgetBurn to reach the pager webhook"):
            fired = wait_for_notification(
                urls.store, alertname="ErrorBudgetBurn", receiver="pager", timeout=90
            )
        timings["fault -> page received"] = time.monotonic() - broke
        alert = fired[0]
        console.print(
            f"[red]PAGE[/red] after {timings['fault -> page received']:.1f} s: "
            f"{alert['annotations'].get('summary')}\n  labels: {alert['labels']}"
        )
        got = call("GET", f"{urls.store}/api/notifications", params={"status": "firing"})
        receivers = sorted({(n["receiver"], n["alertname"]) for n in got})
        console.print(f"  routed to: {receivers}")

        errors = call(
            "GET",
            f"{urls.store}/api/logs",
            params={
                "query": '{service="ml-api", level="ERROR"} |= "prediction failed"',
                "limit": 3,
            },
        )
        console.rule("[bold]logs -> trace")
        for line in errors:
            console.print(f"  {line['level']:7} {line['body']}  trace={line['trace_id'][:16]}...")
        if errors:
            trace = call("GET", f"{urls.store}/api/traces/{errors[0]['trace_id']}")
            for span in trace["spans"]:
                indent = "  " if span["parent_id"] else ""
                console.print(
                    f"  {indent}{span['name']:<16} {span['duration_ms']:7.2f} ms  {span['status']}"
                )

        console.rule("[bold]clear the faults")
        call("PUT", f"{urls.service}/admin/faults", json={})
        fixed = time.monotonic()
        with console.status("waiting for the resolved notification"):
            wait_for_notification(
                urls.store,
                alertname="ErrorBudgetBurn",
                status="resolved",
                receiver="pager",
                timeout=90,
            )
        timings["fix -> resolved received"] = time.monotonic() - fixed
        console.print(f"[green]RESOLVED[/green] after {timings['fix -> resolved received']:.1f} s")
        stop.set()
        sender.join(timeout=15)

        dash = dashboards.write_json(root / "dashboard.json")
        minutes = (time.monotonic() - started) / 60 + 0.1  # the whole demo
        png = dashboards.render_png(urls.prometheus, root / "dashboard.png", minutes=minutes)
        console.print(f"Grafana dashboard JSON: {dash}\nrendered panels: {png}")
        if stats:
            console.print(
                f"traffic: {stats[0].sent} requests, {stats[0].ok} ok, {stats[0].failed} failed"
            )
    finally:
        with console.status("stopping the stack"):
            stack_cm.__exit__(None, None, None)
    timings["total"] = time.monotonic() - started
    table = Table("step", "seconds", title="demo timings")
    for name, seconds in timings.items():
        table.add_row(name, f"{seconds:.1f}")
    console.print(table)
    return timings
