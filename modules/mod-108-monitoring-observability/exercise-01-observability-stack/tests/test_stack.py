"""The whole stack, for real: scrapes, an injected failure paging through Alertmanager to the
right webhooks and resolving, logs and traces through the collector, dashboards."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from obsstack import dashboards
from obsstack.client import TrafficStats, call, send_traffic, wait_for_notification
from obsstack.pushing import push_batch_job
from obsstack.stack import StackUrls

from aiinfra_shared.services.prometheus import query, wait_for

pytestmark = pytest.mark.integration


def test_prometheus_scrapes_every_part_of_the_stack(stack: StackUrls) -> None:
    samples = wait_for(
        stack.prometheus, "up", lambda s: len(s) == 5 and all(x.value == 1 for x in s), timeout=30
    )
    assert {s.labels["job"] for s in samples} == {
        "prometheus",
        "ml-api",
        "node",
        "pushgateway",
        "alertmanager",
    }
    assert {s.labels["team"] for s in samples if s.labels["job"] == "ml-api"} == {"ml"}
    assert query(stack.prometheus, "node_memory_MemTotal_bytes")[0].value > 0


def test_a_batch_job_pushed_to_the_pushgateway_keeps_its_own_job_label(stack: StackUrls) -> None:
    push_batch_job(stack.pushgateway, "nightly-retrain", rows=1234, seconds=3.5)
    push_batch_job(stack.pushgateway, "nightly-retrain", rows=7, seconds=1.0, success=False)
    samples = wait_for(
        stack.prometheus,
        'obsstack_batch_rows_processed{job="nightly-retrain"}',
        lambda s: bool(s) and s[0].value == 7,
        timeout=20,
    )
    assert samples[0].labels["job"] == "nightly-retrain"  # honor_labels, not job="pushgateway"
    # the failed run did not wipe the last success
    last = query(stack.prometheus, "obsstack_batch_last_success_timestamp_seconds")
    assert len(last) == 1
    assert abs(last[0].value - time.time()) < 120


def test_an_error_burst_pages_the_right_receivers_then_resolves(stack: StackUrls) -> None:
    stop = threading.Event()
    stats: list[TrafficStats] = []
    sender = threading.Thread(
        target=lambda: stats.append(send_traffic(stack.service, seconds=300, rps=25, stop=stop)),
        daemon=True,
    )
    sender.start()
    try:
        wait_for(stack.prometheus, "service:sli_errors:ratio_rate5s", lambda s: bool(s), timeout=30)
        assert (
            call("GET", f"{stack.store}/api/notifications", params={"alertname": "ErrorBudgetBurn"})
            == []
        )
        call("PUT", f"{stack.service}/admin/faults", json={"error_rate": 0.5})
        paged = wait_for_notification(
            stack.store, alertname="ErrorBudgetBurn", receiver="pager", timeout=60
        )
        labels = paged[0]["labels"]
        assert labels | {"window": "1h"} == {
            "alertname": "ErrorBudgetBurn",
            "service": "ml-api",
            "severity": "page",
            "team": "ml",
            "slo": "availability",
            "window": "1h",
        }
        assert "burns its error budget" in paged[0]["annotations"]["summary"]
        wait_for_notification(
            stack.store, alertname="ErrorBudgetBurn", receiver="ml-team", timeout=10
        )
        platform = call("GET", f"{stack.store}/api/notifications", params={"receiver": "platform"})
        assert platform == []

        call("PUT", f"{stack.service}/admin/faults", json={})
        resolved = wait_for_notification(
            stack.store,
            alertname="ErrorBudgetBurn",
            status="resolved",
            receiver="pager",
            timeout=60,
        )
        assert resolved[0]["labels"]["service"] == "ml-api"
    finally:
        stop.set()
        sender.join(timeout=15)
    assert stats
    assert stats[0].failed > 0
    assert stats[0].ok > stats[0].failed


def _poll(fetch: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = fetch()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.25)


def test_an_error_log_leads_to_its_trace_through_the_collector(stack: StackUrls) -> None:
    call("PUT", f"{stack.service}/admin/faults", json={"error_rate": 1.0})
    try:
        response = httpx.post(f"{stack.service}/predict", json={"features": [0.1, 0.2, 0.3, 0.4]})
    finally:
        call("PUT", f"{stack.service}/admin/faults", json={})
    assert response.status_code == 500
    trace_id = response.headers["x-trace-id"]
    query_text = (
        f'{{service="ml-api", level="ERROR", trace_id="{trace_id}"}} |= "prediction failed"'
    )
    lines = _poll(lambda: call("GET", f"{stack.store}/api/logs", params={"query": query_text}))
    assert len(lines) == 1
    assert "injected fault" in lines[0]["body"]

    def spans() -> list[dict[str, Any]]:
        try:
            found: list[dict[str, Any]] = call("GET", f"{stack.store}/api/traces/{trace_id}")[
                "spans"
            ]
        except Exception:
            return []
        return found if len(found) == 3 else []

    got = _poll(spans)
    assert [(s["name"], s["status"], s["service"]) for s in got] == [
        ("POST /predict", "error", "ml-api"),
        ("validate", "unset", "ml-api"),
        ("model.predict", "error", "ml-api"),
    ]
    root = got[0]["span_id"]
    assert {s["parent_id"] for s in got[1:]} == {root}


def test_dashboard_queries_parse_in_prometheus_and_render(stack: StackUrls, tmp_path: Path) -> None:
    data = dashboards.to_json()
    assert dashboards.validate(data, stack.prometheus) == []
    png = dashboards.render_png(stack.prometheus, tmp_path / "d.png", minutes=1)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000


def test_more_concurrent_writers_than_server_threads_lose_nothing(
    stack: StackUrls, log_export: Any
) -> None:
    # the store writes on a 40-thread pool; 64 callers x 5 exports x 10 lines each
    marker = f"concurrency-{time.time_ns()}"
    body = log_export(
        [("INFO", f"{marker} line {i}") for i in range(10)], service="load"
    ).SerializeToString()

    def post(_: int) -> int:
        with httpx.Client(timeout=30) as client:
            return sum(
                client.post(
                    f"{stack.store}/v1/logs",
                    content=body,
                    headers={"content-type": "application/x-protobuf"},
                ).status_code
                == 200
                for _ in range(5)
            )

    with ThreadPoolExecutor(64) as pool:
        assert sum(pool.map(post, range(64))) == 64 * 5
    rows = call(
        "GET",
        f"{stack.store}/api/logs",
        params={"query": f'{{service="load"}} |= "{marker}"', "limit": 5000},
    )
    assert len(rows) == 64 * 5 * 10
