"""``modelmon demo`` (what ``aiinfra run 108-02`` runs): healthy traffic, then a degradation.

It starts the service (uvicorn, its own process, fault injection allowed) and a real
Prometheus loaded with the shipped config and rules (scraping every second, the rules'
``for:`` cut to 10 s so a short run shows alerts firing), drives healthy traffic and prints
the scorecard, then turns on 300 ms of latency and 30 % errors and sends drifted traffic whose
fraud pattern changed. It waits for the alerts to fire and prints the scorecard again.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from aiinfra_shared.services import http_process
from aiinfra_shared.services import prometheus as prom
from modelmon import loadgen, scorecard
from modelmon.assets import demo_config
from modelmon.config import ModelmonSettings

EXPECTED_ALERTS = {"ModelmonLatencyBudgetBurnFast", "ModelmonHighErrorRate"}


@dataclass(frozen=True)
class DemoResult:
    """The two scorecards and the alerts seen firing."""

    healthy: scorecard.Scorecard
    degraded: scorecard.Scorecard
    firing: list[str]


def run_demo(
    console: Console, *, healthy_seconds: float = 15, degraded_seconds: float = 25
) -> DemoResult:
    """Run the demo (see the module docstring); returns what it showed."""
    settings = ModelmonSettings()
    env = {
        **os.environ,
        "MODELMON_FAULTS": "true",
        "MODELMON_MODEL_VERSION": settings.model_version,
    }
    argv = [
        sys.executable, "-m", "uvicorn", "--factory", "modelmon.service:app_from_env",
        "--host", "127.0.0.1", "--log-level", "warning", "--port",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="modelmon-demo-") as tmp:
        console.print("[bold]modelmon demo[/]: starting the service and Prometheus ...")
        with http_process(
            "modelmon", lambda p: [*argv, str(p)], health_path="/healthz", env=env
        ) as svc:
            target = svc.url.removeprefix("http://")
            config = demo_config(target, Path(tmp))
            with prom.prometheus(config=config) as prometheus:
                console.print(
                    f"  service     {svc.url}  (/predict, /feedback, /metrics)\n"
                    f"  Prometheus  {prometheus.url}  (shipped config and rules; "
                    "scrape 1 s; alerts wait 10 s instead of minutes)"
                )
                prom.wait_for(
                    prometheus.url, 'up{job="modelmon"}', lambda s: bool(s) and s[0].value == 1
                )
                checks = scorecard.checks(window="20s", slo_seconds=settings.latency_slo_seconds)

                console.print(f"\n[bold]1. healthy traffic[/] for {healthy_seconds:.0f} s ...")
                stats = loadgen.run(svc.url, seconds=healthy_seconds, seed=1)
                console.print(f"   {stats.ok} predictions, {stats.feedback} labels sent back")
                time.sleep(3)  # two scrapes
                healthy = scorecard.evaluate(prometheus.url, checks)
                console.print(scorecard.render(healthy, "scorecard after healthy traffic"))

                console.print(
                    f"\n[bold]2. degradation[/] for {degraded_seconds:.0f} s: +300 ms latency, "
                    "30 % errors, drifted inputs, a changed fraud pattern ..."
                )
                httpx.post(
                    f"{svc.url}/admin/faults", json={"latency_ms": 300, "error_rate": 0.3}
                ).raise_for_status()
                traffic = loadgen.Background(
                    svc.url, seconds=degraded_seconds + 60, drift=0.6, concept=0.6,
                    concurrency=16, seed=2,
                )  # fmt: skip
                time.sleep(degraded_seconds)
                firing = _wait_for_alerts(prometheus.url, timeout=45)
                degraded = scorecard.evaluate(prometheus.url, checks)
                stats = traffic.stop()
                console.print(
                    f"   {stats.ok} predictions, {stats.failed} failed, {stats.feedback} labels"
                )
                console.print(scorecard.render(degraded, "scorecard after the degradation"))
                console.print(
                    "firing: "
                    + (", ".join(firing) or "none yet")
                    + f"\nPrometheus alerts page: {prometheus.url}/alerts"
                )
    return DemoResult(healthy, degraded, firing)


def _wait_for_alerts(url: str, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    firing: set[str] = set()
    while time.monotonic() < deadline:
        firing = {a["labels"]["alertname"] for a in prom.alerts(url) if a["state"] == "firing"}
        if firing >= EXPECTED_ALERTS:
            break
        time.sleep(1)
    return sorted(firing)
