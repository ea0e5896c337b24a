"""Fixtures: one trained model, an in-process client, a real server for Prometheus to scrape."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient
from modelmon.config import ModelmonSettings
from modelmon.model import FraudModel, train
from modelmon.service import create_app
from prometheus_client.parser import text_string_to_metric_families

from aiinfra_shared.services import free_port


@pytest.fixture(scope="session")
def model() -> FraudModel:
    """The fraud model, trained once per session (about a second)."""
    return train(version="1.0.0", seed=11)


@pytest.fixture
def client(model: FraudModel) -> Iterator[TestClient]:
    """A fresh service (own registry, empty windows) behind an in-process client."""
    with TestClient(create_app(ModelmonSettings(window=50, pending_limit=100), model)) as c:
        yield c


Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


def _scrape(client: TestClient) -> Samples:
    """``/metrics`` parsed: sample name → {sorted label pairs → value}."""
    text = client.get("/metrics").text
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


@pytest.fixture
def scrape() -> Callable[[TestClient], Samples]:
    """Parse a client's ``/metrics``: sample name → {sorted label pairs → value}."""
    return _scrape


@pytest.fixture
def txn() -> dict[str, float]:
    """An ordinary transaction."""
    return {"amount": 80.0, "account_age_days": 400.0, "txn_last_hour": 1, "hour": 14}


class ServerThread:
    """A real uvicorn server in a thread (for Prometheus to scrape over HTTP)."""

    def __init__(self, settings: ModelmonSettings, model: FraudModel) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings, model), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Shut it down."""
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def server(model: FraudModel) -> Iterator[str]:
    """URL of the service on a loopback port (a real uvicorn server), faults allowed."""
    srv = ServerThread(ModelmonSettings(faults=True, window=200), model)
    yield srv.url
    srv.stop()
