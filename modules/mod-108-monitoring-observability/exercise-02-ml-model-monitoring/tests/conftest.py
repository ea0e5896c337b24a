"""Fixtures: one trained model, an in-process client, a real server for Prometheus to scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from modelmon.config import ModelmonSettings
from modelmon.model import FraudModel, train
from modelmon.service import create_app
from prometheus_client.parser import text_string_to_metric_families


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


@pytest.fixture
def server(model: FraudModel, asgi_server: Callable[..., Any]) -> str:
    """URL of the service on a loopback port (a real uvicorn server), faults allowed."""
    return str(asgi_server(create_app(ModelmonSettings(faults=True, window=200), model)).url)
