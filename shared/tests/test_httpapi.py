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
