from __future__ import annotations

import asyncio

import pytest
from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from aiinfra_shared.metrics import (
    LATENCY_BUCKETS,
    HTTPMetricsMiddleware,
    latency_histogram,
    metrics_app,
    new_registry,
    timed,
)


def _count(registry: object, name: str) -> float:
    value = registry.get_sample_value(name)  # type: ignore[attr-defined]
    return float(value or 0.0)


def test_timed_observes_sync_and_async_calls() -> None:
    registry = new_registry()
    hist = latency_histogram("demo_call_seconds", "calls", registry)

    @timed(hist)
    def sync_call(x: int) -> int:
        return x * 2

    @timed(hist)
    async def async_call(x: int) -> int:
        await asyncio.sleep(0.01)
        return x + 1

    assert sync_call(2) == 4
    assert asyncio.run(async_call(1)) == 2
    assert _count(registry, "demo_call_seconds_count") == 2
    assert _count(registry, "demo_call_seconds_sum") >= 0.01


def test_timed_still_observes_when_the_call_raises() -> None:
    registry = new_registry()
    hist = latency_histogram("demo_fail_seconds", "calls", registry)

    @timed(hist)
    def boom() -> None:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        boom()
    assert _count(registry, "demo_fail_seconds_count") == 1


def test_latency_metrics_must_be_named_in_seconds() -> None:
    with pytest.raises(ValueError, match="_seconds"):
        latency_histogram("demo_latency_ms", "bad", new_registry())
    assert tuple(sorted(LATENCY_BUCKETS)) == LATENCY_BUCKETS


def test_http_middleware_labels_by_route_template_and_metrics_path_has_no_redirect() -> None:
    registry = new_registry()

    async def item(request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/items/{item_id}", item)])
    app.add_route("/metrics", metrics_app(registry))
    wrapped = HTTPMetricsMiddleware(app, prefix="demo", registry=registry, skip=("/metrics",))
    client = TestClient(wrapped)  # type: ignore[arg-type]
    for item_id in (1, 2, 3):
        assert client.get(f"/items/{item_id}").status_code == 200
    assert client.get("/nowhere").status_code == 404
    response = client.get("/metrics", follow_redirects=False)
    assert response.status_code == 200
    text = response.text
    assert (
        'demo_http_requests_total{method="GET",route="/items/{item_id}",status="200"} 3.0' in text
    )
    assert 'route="unmatched",status="404"' in text
    assert "/items/1" not in text  # raw paths never become labels
    assert "/metrics" not in generate_latest(registry).decode()  # skipped
