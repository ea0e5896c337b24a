from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from servplat.config import DEFAULT_CONFIG
from servplat.platform import Platform, run_platform
from servplat.routing import load_config

from aiinfra_shared.services import RunningService
from aiinfra_shared.tinylm import ensure_tiny


@pytest.fixture(scope="session")
def cache_dir(model_cache: Path) -> Path:
    """The chat backend's tiny model, built once in the shared model cache."""
    ensure_tiny(model_cache)
    return model_cache


ADMIN_KEY = "test-admin-key"


@pytest.fixture(scope="session")
def platform(cache_dir: Path, otel_service: RunningService) -> Iterator[Platform]:
    """The shipped platform (scorers v1/v2, the chat model, the gateway), exporting spans to
    a real OpenTelemetry collector."""
    env = {**otel_service.env, "SERVPLAT_CACHE_DIR": str(cache_dir)}
    config = load_config(DEFAULT_CONFIG)
    for backend in config.backends.values():
        # These tests check routing, not speed: on a slow CI machine a loaded scorer must not
        # time out and move users to another variant.
        backend.timeout = max(backend.timeout, 30.0)
    with run_platform(config, env=env, admin_key=ADMIN_KEY) as running:
        yield running
