"""The online feature API over a sink filled by the real state code (no broker needed)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from featstream.config import FeatstreamSettings
from featstream.events import EventGenerator
from featstream.quality import validate
from featstream.serving import create_app
from featstream.sink import Sink
from featstream.state import PartitionState
from featstream.windows import WindowSpec

from aiinfra_shared.testing.apicheck import run_schemathesis

TOPIC = "featstream.events"


@pytest.fixture
def filled(sink: Sink) -> Sink:
    state = PartitionState(
        0,
        WindowSpec(60_000, 300_000, 60_000),
        watermark_delay_ms=10_000,
        allowed_lateness_ms=60_000,
    )
    for offset, out in enumerate(
        itertools.islice(EventGenerator(seed=3, users=5, malformed_rate=0.05), 400)
    ):
        state.apply(
            offset,
            validate(out.value, max_amount=1e4),
            key=out.key,
            value=out.value,
            ingest_ms=1000,
            now_ms=1250,
        )
    sink.commit(TOPIC, [state.drain()], now_ms=1300)
    return sink


@pytest.fixture
def client(filled: Sink) -> Iterator[TestClient]:
    # An unreachable broker: the lag gauge is simply absent, the API still works.
    settings = FeatstreamSettings(bootstrap_servers="127.0.0.1:1", topic=TOPIC)
    with TestClient(create_app(settings, sink=filled)) as test_client:
        yield test_client


def test_features_of_a_known_user(client: TestClient, filled: Sink) -> None:
    entity = max(filled.all_entities().values(), key=lambda e: e.events)
    response = client.get(f"/v1/features/{entity.entity_id}", params={"windows": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["events"] == entity.events
    assert (
        body["views"] + body["clicks"] + body["add_to_carts"] + body["purchases"] == entity.events
    )
    assert body["amount_total"] == entity.amount_cents / 100
    assert body["distinct_items"] == len(entity.items)
    assert len(body["tumbling"]) == 2
    assert len(body["sliding"]) == 2
    assert body["tumbling"][0]["start"] > body["tumbling"][1]["start"]  # newest first
    fresh = body["freshness"]
    assert fresh["feature_lag_ms"] == 250  # written at 1250 ms, produced at 1000 ms
    assert fresh["watermark_ms"] is not None
    assert fresh["time_since_last_event_s"] >= 0


def test_unknown_user_is_404_with_a_reason(client: TestClient) -> None:
    response = client.get("/v1/features/nobody")
    assert response.status_code == 404
    assert "nobody" in response.json()["detail"]


@pytest.mark.parametrize("windows", [0, 51, "many"])
def test_bad_window_count_is_422(client: TestClient, windows: object) -> None:
    assert client.get("/v1/features/u00000", params={"windows": windows}).status_code == 422


def test_stats_and_readiness(client: TestClient) -> None:
    stats = client.get("/v1/stats").json()
    assert stats["partitions"][0]["next_offset"] == 400
    assert sum(stats["dead_letters"].values()) == stats["partitions"][0]["invalid"] > 0
    assert client.get("/readyz").json() == {"status": "ready", "partitions": 1}
    assert client.get("/healthz").status_code == 200


def test_metrics_expose_sink_counters_and_http_latency(client: TestClient) -> None:
    client.get("/v1/features/nobody")
    text = client.get("/metrics").text
    assert 'featstream_sink_events{outcome="applied"}' in text
    assert "featstream_sink_age_seconds" in text
    assert (
        'featstream_api_http_requests_total{method="GET",route="/v1/features/{entity_id}",status="404"}'
        in text
    )


@pytest.mark.integration
def test_schemathesis_all_checks_pass(
    filled: Sink, asgi_server: Callable[..., Any], tmp_path: Path
) -> None:
    settings = FeatstreamSettings(bootstrap_servers="127.0.0.1:1", topic=TOPIC)
    served = asgi_server(create_app(settings, sink=filled))
    junit = run_schemathesis(served.url, tmp_path)
    for operation in ("GET /v1/features/{entity_id}", "GET /v1/stats", "GET /readyz"):
        assert operation in junit, f"{operation} was not exercised"
