from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mlapi import model as model_lib
from mlapi.app import create_app
from mlapi.config import MlapiSettings
from mlapi.training import train_and_save
from pydantic import SecretStr

API_KEY = "test-admin-key"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained once for the whole session (the real training code, default seed)."""
    directory = tmp_path_factory.mktemp("model") / "mlapi"
    train_and_save(MlapiSettings(model_dir=directory))
    return directory


@pytest.fixture(scope="session")
def trained(model_dir: Path) -> model_lib.TrainedModel:
    return model_lib.load(model_dir)


@pytest.fixture
def api_key() -> str:
    return API_KEY


@pytest.fixture
def settings(model_dir: Path) -> MlapiSettings:
    return MlapiSettings(model_dir=model_dir, api_key=SecretStr(API_KEY), max_body_bytes=4096)


@pytest.fixture
def client(settings: MlapiSettings) -> Iterator[TestClient]:
    """The real app, lifespan included, over httpx's ASGI transport."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def setosa() -> dict[str, float]:
    """Row 1 of the dataset: an unmistakable setosa."""
    return {
        "sepal_length_cm": 5.1,
        "sepal_width_cm": 3.5,
        "petal_length_cm": 1.4,
        "petal_width_cm": 0.2,
    }


@pytest.fixture
def virginica() -> dict[str, float]:
    """Row 122 of the dataset: an unmistakable virginica."""
    return {
        "sepal_length_cm": 6.9,
        "sepal_width_cm": 3.2,
        "petal_length_cm": 5.7,
        "petal_width_cm": 2.3,
    }
