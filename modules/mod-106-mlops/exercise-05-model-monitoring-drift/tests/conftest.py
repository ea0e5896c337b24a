"""Shared fixtures: the reference window, a scraped metrics endpoint, a webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from driftwatch import data
from driftwatch.demo import RetrainReceiver
from driftwatch.exporter import DriftMetrics, MetricsServer

from aiinfra_shared.services.prometheus import prometheus
from aiinfra_shared.testing.plugin import started

SEED = 7


@pytest.fixture(scope="session")
def reference() -> pd.DataFrame:
    """The labelled reference window every test compares against."""
    return data.generate(2000, seed=SEED)


@pytest.fixture
def receiver() -> Iterator[RetrainReceiver]:
    """A real HTTP endpoint that records the retrain requests POSTed to it."""
    rec = RetrainReceiver()
    yield rec
    rec.close()


@pytest.fixture
def scraped(request: pytest.FixtureRequest) -> Iterator[tuple[DriftMetrics, str]]:
    """Fresh metrics on a /metrics endpoint that a real Prometheus scrapes every second."""
    metrics = DriftMetrics()
    with (
        MetricsServer(metrics.registry) as server,
        started(request.config, prometheus(scrape_targets=[server.target])) as prom,
    ):
        yield metrics, prom.url
