from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import mlflow
import pytest
from exptrack.data import Dataset, load_dataset
from exptrack.server import connect

from aiinfra_shared.services import RunningService

_names = itertools.count()


@pytest.fixture(scope="session")
def data() -> Dataset:
    """The default dataset and split, loaded once."""
    return load_dataset("breast_cancer", seed=42)


@pytest.fixture(scope="session")
def tracking_uri(mlflow_service: RunningService) -> Iterator[str]:
    """The session's server, set as ``MLFLOW_TRACKING_URI`` (for subprocesses too)."""
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = mlflow_service.url
    mlflow.set_tracking_uri(mlflow_service.url)
    yield mlflow_service.url
    if previous is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous


@pytest.fixture(autouse=True)
def _no_run_left_open() -> Iterator[None]:
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture
def experiment(tracking_uri: str, request: pytest.FixtureRequest) -> str:
    """An experiment of this test's own, made active."""
    name = f"{request.node.name[:40]}-{next(_names)}"
    connect(tracking_uri, name)
    return name


@pytest.fixture
def model_name(request: pytest.FixtureRequest) -> str:
    """A registered-model name of this test's own."""
    return f"model-{request.node.name[:30]}-{next(_names)}".replace("[", "-").replace("]", "")
