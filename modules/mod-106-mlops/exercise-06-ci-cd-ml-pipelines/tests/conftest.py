"""Fixtures built once per session: a real git + DVC project (``mlcicd init``), a fitted
model, and a registry whose production version is a good model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlcicd import registry
from mlcicd.config import Settings
from mlcicd.data import FEATURES, LABEL, generate
from mlcicd.project import init
from mlcicd.stages import TrainParams, build_model


@dataclass
class Fitted:
    model: Any
    train: pd.DataFrame
    test: pd.DataFrame


@pytest.fixture(scope="session")
def fitted() -> Fitted:
    train, test = generate(1500, seed=1), generate(500, seed=2)
    model = build_model(TrainParams()).fit(train[list(FEATURES)], train[LABEL])
    return Fitted(model, train, test)


@pytest.fixture(scope="session")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template project, initialised and committed once (tests branch off it)."""
    root = tmp_path_factory.mktemp("project")
    return init(root / "loan-default", root / "remote", rows=1500)


@pytest.fixture(scope="session")
def production(tmp_path_factory: pytest.TempPathFactory, fitted: Fitted) -> Settings:
    """A registry whose version 1 (a good model) is in production."""
    settings = Settings(registry=tmp_path_factory.mktemp("registry"))
    version = registry.register_model(
        settings, fitted.model, metrics={"roc_auc": 0.87}, tags={"commit": "test"}, alias=None
    )
    registry.set_alias(settings, registry.PRODUCTION, version)
    return settings
