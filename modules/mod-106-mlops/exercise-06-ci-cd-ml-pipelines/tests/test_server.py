"""The model server: predictions, refusals, metrics, concurrency, SIGTERM, schemathesis."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from mlcicd import registry
from mlcicd.config import Settings
from mlcicd.deploy import sample_rows, scrape
from mlcicd.server import create_app

from aiinfra_shared.testing.apicheck import run_schemathesis

ROW = {"income": 40.0, "debt_ratio": 0.6, "age": 30, "employment_years": 1.0,
       "region": "south", "channel": "web"}  # fmt: skip


@pytest.fixture(scope="module")
def loaded(production: Settings) -> registry.Loaded:
    return registry.load(production, alias=registry.PRODUCTION)


@pytest.fixture
def client(loaded: registry.Loaded) -> Iterator[TestClient]:
    with TestClient(create_app(loaded)) as c:
        yield c


def test_predict_scores_rows_in_order(client: TestClient, loaded: registry.Loaded) -> None:
    safe = {**ROW, "income": 150.0, "debt_ratio": 0.05, "employment_years": 20.0}
    body = client.post("/predict", json={"rows": [ROW, safe, ROW]}).json()
    assert body["version"] == loaded.version
    risky, low, again = body["probabilities"]
    assert risky == again
    assert low < risky


@pytest.mark.parametrize(
    "body",
    [
        '{"rows": [{"income": NaN, "debt_ratio": 0.1, "age": 30, "employment_years": 1,'
        ' "region": "north", "channel": "web"}]}',
        '{"rows": [{"income": Infinity, "debt_ratio": 0.1, "age": 30, "employment_years": 1,'
        ' "region": "north", "channel": "web"}]}',
        '{"rows": [{"income": "40", "debt_ratio": 0.1, "age": 30, "employment_years": 1,'
        ' "region": "north", "channel": "web"}]}',
        '{"rows": [{"income": 40, "debt_ratio": 0.1, "age": 30, "employment_years": 1,'
        ' "region": "mars", "channel": "web"}]}',
        '{"rows": [{"income": 40, "debt_ratio": 0.1, "age": 3, "employment_years": 1,'
        ' "region": "north", "channel": "web"}]}',
        '{"rows": []}',
        '{"rows": [{"income": 40}]}',
    ],
    ids=["nan", "infinity", "string-number", "unknown-region", "too-young", "no-rows", "partial"],
)
def test_bad_bodies_are_422(client: TestClient, body: str) -> None:
    answer = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422


def test_too_many_rows_are_refused(client: TestClient) -> None:
    assert client.post("/predict", json={"rows": [ROW] * 1001}).status_code == 422


def test_model_failures_are_500_and_counted(loaded: registry.Loaded) -> None:
    from mlcicd.faults import FAULTS

    broken = registry.Loaded("9", "models:/x/9", _Raises())
    with TestClient(create_app(broken)) as c:
        answer = c.post("/predict", json={"rows": [ROW]})
        assert answer.status_code == 500
        assert "model failed" in answer.json()["detail"]
        metrics = c.get("/metrics").text
    assert 'route="/predict",status="500"' in metrics
    assert "flaky" in FAULTS


class _Raises:
    def predict_proba(self, _frame: Any) -> Any:
        raise RuntimeError("boom")


@pytest.mark.integration
def test_concurrent_callers_beyond_the_thread_pool_all_get_answers(
    loaded: registry.Loaded, asgi_server: Any
) -> None:
    """64 callers, more than the 40 threads FastAPI runs sync endpoints on."""
    served = asgi_server(create_app(loaded))
    rows = sample_rows(5)

    def call(_i: int) -> int:
        with httpx.Client(timeout=60) as http:
            answer = http.post(f"{served.url}/predict", json={"rows": rows})
            return answer.status_code if len(answer.json().get("probabilities", [])) == 5 else 0

    with ThreadPoolExecutor(64) as pool:
        codes = list(pool.map(call, range(128)))
    assert codes == [200] * 128
    assert scrape(served.url).requests == 128


@pytest.mark.integration
def test_the_server_stops_on_sigterm(production: Settings) -> None:
    from aiinfra_shared.services.base import free_port, http_ok

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlcicd", "serve", "--registry", str(production.registry),
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not http_ok(f"http://127.0.0.1:{port}/health"):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
        assert process.returncode in (0, 143), err
        assert b"Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.integration
def test_schemathesis_all_checks(loaded: registry.Loaded, asgi_server: Any, tmp_path: Path) -> None:
    served = asgi_server(create_app(loaded))
    junit = run_schemathesis(served.url, tmp_path, max_examples=30)
    for operation in ("POST /predict", "GET /health"):
        assert operation in junit
