"""The real app through httpx's ASGI transport: routes, validation, limits, auth, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mlapi import model as model_lib
from mlapi.app import create_app
from mlapi.config import MlapiSettings
from mlapi.data import load_dataset, split
from mlapi.schemas import MAX_BATCH
from pydantic import SecretStr


def test_health_and_readiness(client: TestClient, trained: model_lib.TrainedModel) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "model_version": None, "reason": None}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["model_version"] == trained.version


def test_single_prediction(
    client: TestClient, setosa: dict[str, float], trained: model_lib.TrainedModel
) -> None:
    response = client.post("/v1/predict", json=setosa)
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == trained.version
    [prediction] = body["predictions"]
    assert prediction["label"] == "setosa"
    assert prediction["class_id"] == 0
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)


def test_batch_prediction_keeps_order(
    client: TestClient, setosa: dict[str, float], virginica: dict[str, float]
) -> None:
    response = client.post("/v1/predict", json={"instances": [virginica, setosa, virginica]})
    assert response.status_code == 200
    labels = [p["label"] for p in response.json()["predictions"]]
    assert labels == ["virginica", "setosa", "virginica"]


def test_batch_over_http_matches_held_out_accuracy(
    client: TestClient, trained: model_lib.TrainedModel
) -> None:
    _, test = split(load_dataset())
    names = ("sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm")
    batch = {"instances": [dict(zip(names, map(float, row), strict=True)) for row in test.x]}
    predictions = client.post("/v1/predict", json=batch).json()["predictions"]
    hits = sum(p["class_id"] == int(y) for p, y in zip(predictions, test.y, strict=True))
    assert hits / len(test) == pytest.approx(trained.metadata.test_accuracy, abs=1e-4)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"petal_length_cm": -1}, "petal_length_cm", "greater than 0"),
        ({"petal_length_cm": "long"}, "petal_length_cm", "valid number"),
        ({"petal_length_cm": "1.4"}, "petal_length_cm", "valid number"),  # no coercion
        ({"petal_length_cm": True}, "petal_length_cm", "valid number"),  # not 1.0 cm
        ({"colour": "blue"}, "colour", "Extra inputs"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: TestClient,
    setosa: dict[str, float],
    change: dict[str, object],
    field: str,
    message: str,
) -> None:
    response = client.post("/v1/predict", json={**setosa, **change})
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert any(field in err["loc"] and message in err["msg"] for err in errors), errors


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_a_422_not_a_500(
    client: TestClient, setosa: dict[str, float], value: str
) -> None:
    """Python's JSON parser reads NaN and Infinity; the 422 must still be sendable."""
    body = json.dumps(setosa).replace('"petal_width_cm": 0.2', f'"petal_width_cm": {value}')
    response = client.post(
        "/v1/predict", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert any(
        e["loc"][-1] == "petal_width_cm" and e["type"] in {"finite_number", "less_than_equal"}
        for e in errors
    ), errors


def test_413_is_counted_under_its_route(client: TestClient) -> None:
    client.post("/v1/predict", content=b"x" * 5000, headers={"content-type": "application/json"})
    text = client.get("/metrics").text
    assert 'mlapi_http_requests_total{method="POST",route="/v1/predict",status="413"} 1.0' in text
    assert 'route="unmatched"' not in text


def test_not_json_and_empty_batch_are_422(client: TestClient) -> None:
    assert (
        client.post(
            "/v1/predict", content=b"{not json", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
    assert client.post("/v1/predict", json={"instances": []}).status_code == 422


def test_oversized_batch_is_rejected(
    client: TestClient, setosa: dict[str, float], settings: MlapiSettings
) -> None:
    big = MlapiSettings(model_dir=settings.model_dir, max_body_bytes=10**6)
    with TestClient(create_app(big)) as roomy:
        response = roomy.post("/v1/predict", json={"instances": [setosa] * (MAX_BATCH + 1)})
    assert response.status_code == 422
    assert "at most 256" in response.text


def test_body_over_the_limit_is_413_declared_or_chunked(client: TestClient) -> None:
    big = b"x" * 5000  # settings fixture: 4096 bytes
    declared = client.post("/v1/predict", content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413
    assert "larger than 4096 bytes" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b"x" * 1000

    chunked = client.post(
        "/v1/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413


def test_model_info(client: TestClient, trained: model_lib.TrainedModel) -> None:
    info = client.get("/v1/model").json()
    assert info["model_version"] == trained.version
    assert info["classes"] == ["setosa", "versicolor", "virginica"]


def test_reload_requires_the_api_key(client: TestClient, api_key: str) -> None:
    assert client.post("/v1/model/reload").status_code == 401
    assert client.post("/v1/model/reload", headers={"X-API-Key": "wrong"}).status_code == 403
    ok = client.post("/v1/model/reload", headers={"X-API-Key": api_key})
    assert ok.status_code == 200
    assert ok.json()["changed"] is False


def test_admin_is_disabled_without_a_configured_key(model_dir: Path) -> None:
    with TestClient(create_app(MlapiSettings(model_dir=model_dir))) as keyless:
        response = keyless.post("/v1/model/reload", headers={"X-API-Key": "anything"})
    assert response.status_code == 403
    assert "MLAPI_API_KEY" in response.json()["detail"]


def test_reload_serves_a_retrained_model(
    tmp_path: Path, trained: model_lib.TrainedModel, setosa: dict[str, float], api_key: str
) -> None:
    directory = model_lib.save(trained, tmp_path / "m")
    settings = MlapiSettings(model_dir=directory, api_key=SecretStr(api_key))
    with TestClient(create_app(settings)) as client:
        train, test = split(load_dataset())
        model_lib.save(model_lib.train(train, test, epochs=50, seed=123), directory)
        response = client.post("/v1/model/reload", headers={"X-API-Key": api_key}).json()
        assert response["previous_version"] == trained.version
        assert response["changed"] is True
        served = client.post("/v1/predict", json=setosa).json()["model_version"]
        assert served == response["model_version"] != trained.version


def test_broken_model_on_reload_keeps_the_old_one(
    tmp_path: Path, trained: model_lib.TrainedModel, setosa: dict[str, float], api_key: str
) -> None:
    directory = model_lib.save(trained, tmp_path / "m")
    settings = MlapiSettings(model_dir=directory, api_key=SecretStr(api_key))
    with TestClient(create_app(settings)) as client:
        (directory / model_lib.WEIGHTS).write_bytes(b"garbage")
        response = client.post("/v1/model/reload", headers={"X-API-Key": api_key})
        assert response.status_code == 409
        assert "valid model" in response.json()["detail"]
        still = client.post("/v1/predict", json=setosa)
        assert still.status_code == 200
        assert still.json()["model_version"] == trained.version


def test_without_a_model_the_app_starts_but_is_not_ready(
    tmp_path: Path, setosa: dict[str, float]
) -> None:
    with TestClient(create_app(MlapiSettings(model_dir=tmp_path / "none"))) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "mlapi train" in ready.json()["reason"]
        assert client.post("/v1/predict", json=setosa).status_code == 503


def test_metrics_count_requests_by_route_template_and_class(
    client: TestClient, setosa: dict[str, float]
) -> None:
    client.post("/v1/predict", json=setosa)
    client.post("/v1/predict", json={"instances": [setosa, setosa]})
    client.post("/v1/predict", json={**setosa, "petal_length_cm": -1})
    client.get("/does-not-exist")
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert 'mlapi_predictions_total{label="setosa"} 3.0' in text
    assert 'mlapi_http_requests_total{method="POST",route="/v1/predict",status="200"} 2.0' in text
    assert 'mlapi_http_requests_total{method="POST",route="/v1/predict",status="422"} 1.0' in text
    assert 'route="unmatched",status="404"' in text
    assert "mlapi_http_request_duration_seconds_bucket" in text
    assert "mlapi_model_loaded 1.0" in text
    assert "mlapi_batch_size_rows_count 2.0" in text


def test_openapi_documents_the_routes(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/model", "/v1/model/reload", "/healthz", "/readyz"} <= set(
        schema["paths"]
    )
    assert "X-API-Key" in json.dumps(schema["components"]["securitySchemes"])
