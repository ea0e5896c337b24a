"""A real Prometheus scrapes the real service; the recording rules and the scorecard work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from modelmon import loadgen, scorecard
from modelmon.assets import demo_config
from modelmon.demo import EXPECTED_ALERTS, run_demo
from rich.console import Console

from aiinfra_shared.services import prometheus as prom
from aiinfra_shared.testing.plugin import started

pytestmark = pytest.mark.integration


@pytest.fixture
def prometheus_url(request: pytest.FixtureRequest, server: str, tmp_path: Path) -> Iterator[str]:
    config = demo_config(server.removeprefix("http://"), tmp_path)
    with started(request.config, prom.prometheus(config=config)) as p:
        # Traffic sent before the first scrape would only ever be seen as a flat line.
        prom.wait_for(p.url, 'up{job="modelmon"}', lambda s: bool(s) and s[0].value == 1)
        yield p.url


def test_prometheus_scrapes_the_exporter_and_records(server: str, prometheus_url: str) -> None:
    stats = loadgen.run(server, seconds=3, concurrency=4, label_delay=0.1)
    assert stats.ok > 20
    assert stats.feedback > 0
    prom.wait_for(
        prometheus_url,
        "sum(modelmon_predictions_total)",
        lambda s: bool(s) and s[0].value >= stats.ok,
        timeout=20,
    )
    # Latest sample of the last minute: one scrape timing out on a loaded machine makes
    # Prometheus mark the target's series stale at once, and an instant query then sees none.
    up = prom.query(prometheus_url, 'max_over_time(up{job="modelmon"}[1m])')
    assert up[0].value == 1
    accuracy = prom.query(prometheus_url, "last_over_time(modelmon_online_accuracy[1m])")
    assert 0.5 < accuracy[0].value <= 1
    assert accuracy[0].labels["model_version"] == "1.0.0"
    features = prom.query(prometheus_url, "last_over_time(modelmon_feature_mean[1m])")
    assert {s.labels["feature"] for s in features} == {
        "amount",
        "account_age_days",
        "txn_last_hour",
        "hour",
    }
    # A rate needs two scrapes with traffic between them. On a loaded machine the scrapes during
    # the burst above can time out, so the first sample of the counters may already hold every
    # prediction: rate 0/0, NaN until traffic flows again. Keep a trickle going while waiting.
    trickle = loadgen.Background(server, seconds=60, concurrency=1, label_delay=0.1)
    try:
        positive = prom.wait_for(
            prometheus_url,
            "modelmon:predictions_positive:ratio_rate5m",
            lambda s: bool(s) and s[0].value == s[0].value,  # not NaN
            timeout=30,
        )
    finally:
        trickle.stop()
    assert 0 <= positive[0].value <= 1
    card = scorecard.evaluate(prometheus_url, scorecard.checks(window="1m"))
    assert card.line("service up").status == "GREEN"
    assert card.line("error ratio").status == "GREEN"


def test_injected_errors_fire_the_error_alert(server: str, prometheus_url: str) -> None:
    httpx.post(f"{server}/admin/faults", json={"error_rate": 0.5}).raise_for_status()
    # Failing traffic flows until the alert fires: a burst that ends before two scrapes have
    # seen it (scrapes time out on a loaded machine) would show Prometheus no rate at all.
    traffic = loadgen.Background(server, seconds=60, concurrency=2)
    try:
        prom.wait_for(
            prometheus_url,
            'ALERTS{alertname="ModelmonHighErrorRate"}',
            lambda s: bool(s) and s[0].labels["alertstate"] == "firing",
            timeout=40,
        )
    finally:
        stats = traffic.stop()
    assert stats.failed > 0
    card = scorecard.evaluate(prometheus_url, scorecard.checks(window="1m"))
    assert card.line("error ratio").status == "RED"
    assert "ModelmonHighErrorRate" in card.firing()


@pytest.mark.slow
def test_demo_turns_the_scorecard_red_and_fires_alerts() -> None:
    console = Console(record=True, width=160)
    result = run_demo(console, healthy_seconds=8, degraded_seconds=10)
    assert result.healthy.status != "RED"
    assert result.degraded.status == "RED"
    assert set(result.firing) >= EXPECTED_ALERTS
    text = console.export_text()
    assert "scorecard after the degradation: RED" in text
