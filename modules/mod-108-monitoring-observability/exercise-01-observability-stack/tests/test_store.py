"""The store: OTLP in, LogQL-style queries and traces out, the webhook inbox, bad input."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.protobuf.json_format import MessageToJson
from obsstack.logql import LogQueryError, parse
from obsstack.store import create_app

PROTO = {"content-type": "application/x-protobuf"}
TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")


@pytest.fixture
def client(db_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db_path)) as c:
        yield c


@pytest.fixture
def loaded(client: TestClient, log_export: Any) -> TestClient:
    lines = [
        ("INFO", "predicted 1 (score 0.91)"),
        ("ERROR", "prediction failed: timeout talking to the feature store"),
        ("WARNING", "feature 2 = 12 is outside the training range"),
        ("ERROR", "Prediction FAILED: upper case"),
        ("INFO", "GET /healthz ok"),
    ]
    assert (
        client.post(
            "/v1/logs", content=log_export(lines, trace_id=TRACE).SerializeToString(), headers=PROTO
        ).status_code
        == 200
    )
    other = log_export([("ERROR", "disk full")], service="batch", attrs={"job": "nightly"})
    assert (
        client.post("/v1/logs", content=other.SerializeToString(), headers=PROTO).status_code == 200
    )
    return client


def bodies(client: TestClient, query: str) -> list[str]:
    response = client.get("/api/logs", params={"query": query})
    assert response.status_code == 200, response.text
    return [row["body"] for row in response.json()]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            '{service="api", level="ERROR"}',
            {
                "prediction failed: timeout talking to the feature store",
                "Prediction FAILED: upper case",
            },
        ),
        (
            '{service="api"} |= "failed"',
            {"prediction failed: timeout talking to the feature store"},
        ),
        ('{service="api"} |= "fa"', {"prediction failed: timeout talking to the feature store"}),
        (
            '{service="api"} |~ "(?i)failed"',
            {
                "prediction failed: timeout talking to the feature store",
                "Prediction FAILED: upper case",
            },
        ),
        (
            '{service="api", level!="INFO"} != "training"',
            {
                "prediction failed: timeout talking to the feature store",
                "Prediction FAILED: upper case",
            },
        ),
        ('{service=~"ap"}', set()),  # label regexes are anchored
        ('{service=~"ap.*", level=~"WARN.*"}', {"feature 2 = 12 is outside the training range"}),
        ('{service!="api", job="nightly"}', {"disk full"}),
        ('{job="nightly"} !~ "disk"', set()),
        (
            '{service="api"} |= "feature" |= "store"',
            {"prediction failed: timeout talking to the feature store"},
        ),
    ],
)
def test_log_queries(loaded: TestClient, query: str, expected: set[str]) -> None:
    assert set(bodies(loaded, query)) == expected


def test_logs_come_newest_first_with_their_trace_id(loaded: TestClient) -> None:
    rows = loaded.get("/api/logs", params={"query": '{service="api"}'}).json()
    assert [r["ts_ns"] for r in rows] == sorted((r["ts_ns"] for r in rows), reverse=True)
    assert {r["trace_id"] for r in rows} == {TRACE.hex()}


@pytest.mark.parametrize(
    "query",
    [
        "",
        "service=api",
        '{service="api"',
        '{service="api"} |= unquoted',
        '{service|="api"}',
        '{service=~"("}',
        '{service="api"} |~ "[a-"',
        '{level=""}',
        '{service="api"} +',
    ],
)
def test_bad_queries_are_refused_with_a_reason(loaded: TestClient, query: str) -> None:
    if not query:
        assert loaded.get("/api/logs", params={"query": query}).status_code == 422
        with pytest.raises(LogQueryError, match="empty"):
            parse(query)
        return
    response = loaded.get("/api/logs", params={"query": query})
    assert response.status_code == 400
    assert response.json()["detail"]
    with pytest.raises(LogQueryError):
        parse(query)


def test_a_trace_with_its_logs_and_the_error_span(
    client: TestClient, log_export: Any, trace_export: Any
) -> None:
    body = gzip.compress(trace_export(TRACE, error=True).SerializeToString())
    response = client.post(
        "/v1/traces", content=body, headers={**PROTO, "content-encoding": "gzip"}
    )
    assert response.status_code == 200
    client.post(
        "/v1/logs",
        content=log_export([("ERROR", "boom")], trace_id=TRACE).SerializeToString(),
        headers=PROTO,
    )
    trace = client.get(f"/api/traces/{TRACE.hex()}").json()
    assert [(s["name"], s["parent_id"], s["status"]) for s in trace["spans"]] == [
        ("GET /x", "", "unset"),
        ("db.query", "01" * 8, "error"),
    ]
    assert trace["spans"][0]["duration_ms"] == pytest.approx(5.0)
    assert trace["spans"][1]["attributes"] == {"db.system": "sqlite"}
    assert [line["body"] for line in trace["logs"]] == ["boom"]
    listed = client.get("/api/traces", params={"service": "api"}).json()
    assert listed[0] | {"start_ns": 0} == {
        "trace_id": TRACE.hex(),
        "start_ns": 0,
        "duration_ms": 5.0,
        "spans": 2,
        "errors": 1,
        "root": "GET /x",
        "service": "api",
    }
    assert client.get("/api/traces/" + "ab" * 16).status_code == 404


def test_otlp_json_is_accepted_too(client: TestClient, log_export: Any) -> None:
    body = MessageToJson(log_export([("INFO", "from json")]))
    response = client.post("/v1/logs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert bodies(client, '{service="api"}') == ["from json"]


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"\xff\xfe garbage", PROTO, 400),
        (b"not gzip", {**PROTO, "content-encoding": "gzip"}, 400),
        (b"", {**PROTO, "content-encoding": "br"}, 415),
        (b"{}", {"content-type": "text/plain"}, 415),
        (b"{not json", {"content-type": "application/json"}, 400),
    ],
)
def test_bad_otlp_bodies_are_refused_and_nothing_is_stored(
    loaded: TestClient, body: bytes, headers: dict[str, str], status: int
) -> None:
    before = loaded.get("/healthz").json()
    assert loaded.post("/v1/logs", content=body, headers=headers).status_code == status
    assert loaded.get("/healthz").json() == before


def webhook(status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="X"}',
        "status": status,
        "receiver": "pager",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "X", **labels},
                "annotations": {"summary": "s"},
                "startsAt": "2026-12-05T10:00:00Z",
                "fingerprint": "abc",
            }
        ],
    }


def test_webhooks_are_recorded_per_receiver(client: TestClient) -> None:
    assert client.post("/webhooks/pager", json=webhook(severity="page")).json() == {"accepted": 1}
    assert client.post("/webhooks/ml-team", json=webhook("resolved")).status_code == 200
    got = client.get("/api/notifications", params={"receiver": "pager"}).json()
    assert [(n["receiver"], n["status"], n["labels"]["severity"]) for n in got] == [
        ("pager", "firing", "page")
    ]
    assert len(client.get("/api/notifications", params={"status": "resolved"}).json()) == 1


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {**webhook(), "version": "3"},
        {**webhook(), "alerts": []},
        {**webhook(), "alerts": [{"status": "firing", "labels": {}, "startsAt": "x"}]},
        {**webhook(), "alerts": [{"status": "exploded", "labels": {"a": "b"}, "startsAt": "x"}]},
    ],
)
def test_malformed_webhooks_get_422_and_store_nothing(
    client: TestClient, payload: dict[str, Any]
) -> None:
    response = client.post("/webhooks/pager", json=payload)
    assert response.status_code == 422
    assert client.get("/api/notifications").json() == []


def test_one_bad_alert_does_not_cost_the_good_ones(client: TestClient) -> None:
    body = webhook()
    body["alerts"].append({"status": "firing", "labels": {"severity": "page"}, "startsAt": "x"})
    response = client.post("/webhooks/pager", json=body)
    assert response.status_code == 422
    assert response.json()["accepted"] == 1
    assert {tuple(e["loc"][:3]) for e in response.json()["detail"]} == {("body", "alerts", 1)}
    assert [n["alertname"] for n in client.get("/api/notifications").json()] == ["X"]


def test_an_unknown_receiver_is_refused(client: TestClient) -> None:
    assert client.post("/webhooks/nobody", json=webhook()).status_code == 422


def test_the_data_survives_a_restart(db_path: Path, log_export: Any) -> None:
    with TestClient(create_app(db_path)) as first:
        first.post(
            "/v1/logs", content=log_export([("INFO", "kept")]).SerializeToString(), headers=PROTO
        )
    with TestClient(create_app(db_path)) as second:
        assert bodies(second, '{service="api"} |= "kept"') == ["kept"]


def test_store_metrics_count_what_was_stored(loaded: TestClient) -> None:
    text = loaded.get("/metrics").text
    assert 'obsstack_store_received_total{kind="logs"} 6.0' in text
    assert json.loads(json.dumps(loaded.get("/healthz").json()))["logs"] == 6
