"""Integration: the real uvicorn server as a subprocess on a free port, called over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mlapi.server import server_process

from aiinfra_shared.services import RunningService
from aiinfra_shared.testing.apicheck import run_schemathesis

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    workdir = tmp_path_factory.mktemp("server")
    with server_process(model_dir, api_key="integration-key", workdir=workdir) as running:
        yield running


def test_predict_over_http(server: RunningService, setosa: dict[str, float]) -> None:
    response = httpx.post(f"{server.url}/v1/predict", json=setosa, timeout=10)
    assert response.status_code == 200
    assert response.json()["predictions"][0]["label"] == "setosa"


def test_reload_over_http_needs_the_key(server: RunningService) -> None:
    assert httpx.post(f"{server.url}/v1/model/reload", timeout=10).status_code == 401
    authorised = httpx.post(
        f"{server.url}/v1/model/reload", headers={"X-API-Key": "integration-key"}, timeout=10
    )
    assert authorised.status_code == 200


def test_metrics_are_served_at_exactly_metrics(server: RunningService) -> None:
    response = httpx.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200  # no redirect to /metrics/
    assert "mlapi_model_loaded 1.0" in response.text


def test_server_stops_cleanly(model_dir: Path, tmp_path: Path) -> None:
    with server_process(model_dir, health_path="/healthz", workdir=tmp_path) as running:
        process = running.process
    assert process.poll() is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{running.url}/healthz", timeout=2)


def test_schemathesis_all_checks_pass(server: RunningService, tmp_path: Path) -> None:
    """Schemathesis generates valid and invalid requests for every operation in the OpenAPI
    document and sends them to the live server: every check holds (no 5xx, every status code
    documented, bodies and content types as documented)."""
    junit = run_schemathesis(server.url, tmp_path, headers={"X-API-Key": "integration-key"})
    for operation in ("POST /v1/predict", "POST /v1/model/reload", "GET /readyz"):
        assert operation in junit, f"{operation} was not exercised"
