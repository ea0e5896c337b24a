from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from aiinfra_shared.httpapi import safe_validation_errors


class Body(BaseModel):
    x: float = Field(allow_inf_nan=False)


def test_nan_in_a_body_is_a_422_not_a_500() -> None:
    app = FastAPI()
    refused: list[str] = []
    safe_validation_errors(app, lambda request: refused.append(request.url.path))

    @app.post("/p")
    def post(body: Body) -> float:
        return body.x

    client = TestClient(app, raise_server_exceptions=False)
    for raw in ('{"x": NaN}', '{"x": Infinity}', '{"x": "a"}'):
        response = client.post("/p", content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 422, raw
        assert response.json()["detail"][0]["loc"] == ["body", "x"]
    assert refused == ["/p", "/p", "/p"]
    assert client.post("/p", json={"x": 1.5}).json() == 1.5


def test_alertmanager_webhook_model_is_strict() -> None:
    import pytest
    from pydantic import ValidationError

    from aiinfra_shared.alertmanager import AlertmanagerWebhook, fingerprint_of

    alert = {
        "status": "firing",
        "labels": {"alertname": "A", "service": "x"},
        "startsAt": "2026-12-05T10:00:00Z",
    }
    body = {"version": "4", "groupKey": "k", "status": "firing", "receiver": "r", "alerts": [alert]}
    parsed = AlertmanagerWebhook.model_validate(body)
    assert parsed.alerts[0].identity() == fingerprint_of({"alertname": "A", "service": "x"})
    assert fingerprint_of({"a": "1", "b": "2"}) == fingerprint_of({"b": "2", "a": "1"})
    for bad in (
        {"labels": {"service": "x"}},
        {"startsAt": "2026-12-05T10:00:00"},
        {"startsAt": 1733392800},
        {"status": "exploded"},
    ):
        with pytest.raises(ValidationError):
            AlertmanagerWebhook.model_validate({**body, "alerts": [{**alert, **bad}]})
