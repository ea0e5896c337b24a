"""The demo service: predictions, fault injection, metrics, and trace ids in the logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from obsstack.service import create_app
from prometheus_client.parser import text_string_to_metric_families

from aiinfra_shared.logging import JsonFormatter


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(seed=3)) as c:
        yield c


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_a_prediction_has_a_class_a_score_and_its_trace_id(client: TestClient) -> None:
    response = client.post("/predict", json={"features": [3, 0, 0, 0]})
    assert response.status_code == 200
    body = response.json()
    assert body["label"] == 1
    assert 0.5 < body["score"] < 1
    assert len(body["trace_id"]) == 32
    assert body["trace_id"] == response.headers["x-trace-id"]
    low = client.post("/predict", json={"features": [-3, 0, 0, 0]}).json()
    assert low["label"] == 0
    assert low["score"] < 0.5


@pytest.mark.parametrize(
    "body",
    [
        {"features": [1, 2, 3]},
        {"features": [1, 2, 3, 4, 5]},
        {"features": ["a", 0, 0, 0]},
        {"features": [1, 2, 3, 4], "extra": 1},
        {},
        {"features": [1e300, 0, 0, 0]},
    ],
)
def test_bad_inputs_get_422(client: TestClient, body: dict[str, object]) -> None:
    assert client.post("/predict", json=body).status_code == 422


def test_nan_and_infinity_are_refused(client: TestClient) -> None:
    for raw in ('{"features": [NaN, 0, 0, 0]}', '{"features": [Infinity, 0, 0, 0]}'):
        response = client.post(
            "/predict", content=raw, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422


def test_red_and_model_metrics(client: TestClient) -> None:
    for x in (3, -3, 3, 9):
        client.post("/predict", json={"features": [x, 0, 0, 0]})
    client.post("/predict", json={"features": [1]})
    got = samples(client)
    ok = (
        "obsstack_http_requests_total",
        (("method", "POST"), ("route", "/predict"), ("status", "200")),
    )
    bad = (
        "obsstack_http_requests_total",
        (("method", "POST"), ("route", "/predict"), ("status", "422")),
    )
    assert got[ok] == 4
    assert got[bad] == 1
    assert (
        got[("obsstack_model_predictions_total", (("label", "1"), ("model_version", "2026.12.1")))]
        == 3
    )
    assert got[("obsstack_model_input_out_of_range_total", (("feature", "0"),))] == 1
    assert got[("obsstack_model_score_count", (("model_version", "2026.12.1"),))] == 4
    assert got[("obsstack_inflight_requests", ())] == 0


def test_injected_faults_fail_that_share_and_stop_when_cleared(client: TestClient) -> None:
    assert client.put("/admin/faults", json={"error_rate": 0.5}).json() == {
        "error_rate": 0.5,
        "latency_ms": 0,
    }
    codes = [
        client.post("/predict", json={"features": [0, 0, 0, 0]}).status_code for _ in range(200)
    ]
    assert set(codes) == {200, 500}
    assert 70 <= codes.count(500) <= 130
    client.put("/admin/faults", json={})
    assert {
        client.post("/predict", json={"features": [0, 0, 0, 0]}).status_code for _ in range(20)
    } == {200}
    assert samples(client)[
        ("obsstack_model_failures_total", (("reason", "injected"),))
    ] == codes.count(500)


@pytest.mark.parametrize(
    "faults", [{"error_rate": 1.5}, {"error_rate": -0.1}, {"latency_ms": 10_000}, {"bogus": 1}]
)
def test_bad_faults_are_refused(client: TestClient, faults: dict[str, object]) -> None:
    assert client.put("/admin/faults", json=faults).status_code == 422
    assert client.get("/admin/faults").json() == {"error_rate": 0.0, "latency_ms": 0}


def test_json_logs_carry_the_trace_id_of_their_request(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    client.put("/admin/faults", json={"error_rate": 1.0})
    with caplog.at_level(logging.INFO, logger="obsstack.service"):
        response = client.post("/predict", json={"features": [0, 0, 0, 0]})
    assert response.status_code == 500
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1
    line = json.loads(JsonFormatter().format(errors[0]))
    assert line["trace_id"] == response.headers["x-trace-id"]
    assert line["message"].startswith("prediction failed")
