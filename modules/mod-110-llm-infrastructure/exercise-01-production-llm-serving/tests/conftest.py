from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from llmserve.engine.cpu import CPUEngine
from llmserve.server import server_process

from aiinfra_shared.services import RunningService
from aiinfra_shared.tinylm import ensure_tiny


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache with the tiny model built once for the session (about 10 s)."""
    cache = tmp_path_factory.mktemp("llmserve-cache")
    ensure_tiny(cache)
    return cache


@pytest.fixture(scope="session")
def tiny(model_cache: Path) -> Path:
    """The tiny model's folder."""
    return model_cache / "tiny"


@pytest.fixture
def engine(tiny: Path) -> Iterator[CPUEngine]:
    """A started engine on the tiny model (batch 8), stopped afterwards."""
    eng = CPUEngine(tiny, max_batch_size=8, max_queue=8)
    eng.start()
    yield eng
    eng.stop()


@pytest.fixture(scope="session")
def server(model_cache: Path) -> Iterator[RunningService]:
    """``llmserve serve`` on the tiny model, default limits, for the whole session."""
    with server_process({"LLMSERVE_CACHE_DIR": str(model_cache)}) as service:
        yield service


@pytest.fixture
def start_server(model_cache: Path) -> Iterator[object]:
    """Start a server with extra ``LLMSERVE_*`` settings: ``start_server(MAX_QUEUE="1")``."""
    from contextlib import ExitStack

    with ExitStack() as stack:

        def start(**settings: str) -> RunningService:
            env = {"LLMSERVE_CACHE_DIR": str(model_cache)}
            env |= {f"LLMSERVE_{k.upper()}": v for k, v in settings.items()}
            return stack.enter_context(server_process(env))

        yield start
