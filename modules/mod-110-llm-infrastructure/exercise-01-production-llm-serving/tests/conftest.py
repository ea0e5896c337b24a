from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from llmserve.config import Settings
from llmserve.engine.cpu import CPUEngine
from llmserve.server import build_app

from aiinfra_shared.services.base import free_port
from aiinfra_shared.testing.asgi import serve_in_thread
from aiinfra_shared.tinylm import ensure_tiny


@pytest.fixture(scope="session")
def tiny(model_cache: Path) -> Path:
    """The tiny model's folder, built once (about 10 s) in the shared model cache."""
    return ensure_tiny(model_cache)


@pytest.fixture
def engine(tiny: Path) -> Iterator[CPUEngine]:
    """A started engine on the tiny model (batch 8), stopped afterwards."""
    eng = CPUEngine(tiny, max_batch_size=8, max_queue=8)
    eng.start()
    yield eng
    eng.stop()


@dataclass(frozen=True)
class LiveServer:
    """A server answering on loopback."""

    url: str


@contextmanager
def live_server(**settings: Any) -> Iterator[LiveServer]:
    """``build_app`` (what ``llmserve serve`` runs) under uvicorn on a free loopback port, in a
    thread of this process: real HTTP, without a subprocess importing torch again."""
    port = free_port()
    app = build_app(Settings(host="127.0.0.1", port=port, **settings))
    with serve_in_thread(app, port=port) as served:
        yield LiveServer(served.url)


@pytest.fixture(scope="session")
def live() -> Callable[..., Any]:
    """``live_server`` itself, for tests that start a server on other settings."""
    return live_server


@pytest.fixture(scope="session")
def server(tiny: Path, model_cache: Path) -> Iterator[LiveServer]:
    """The API on the tiny model with default limits, for the whole session."""
    with live_server(cache_dir=model_cache) as live:
        yield live


@pytest.fixture
def start_server(tiny: Path, model_cache: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start a server with other settings: ``start_server(max_queue=1)``."""
    with ExitStack() as stack:

        def start(**settings: Any) -> LiveServer:
            return stack.enter_context(live_server(cache_dir=model_cache, **settings))

        yield start
