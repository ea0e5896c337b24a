"""Put an engine behind the API: in this process (``llmserve serve``) or as a subprocess on a
free loopback port (the demo, the benchmark and the tests)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI

from aiinfra_shared.metrics import new_registry
from aiinfra_shared.services import RunningService, http_process
from llmserve.api import create_app
from llmserve.config import Settings
from llmserve.engine import Engine
from llmserve.metrics import LlmMetrics
from llmserve.models import resolve


def build_engine(
    settings: Settings,
    metrics: LlmMetrics,
    progress: Callable[[int, int, float], None] | None = None,
) -> Engine:
    """The engine ``settings`` asks for (the model is built or converted first if needed)."""
    if settings.engine == "vllm":
        from llmserve.engine.vllm import VLLMEngine

        return VLLMEngine(
            settings.model,
            name=settings.served_name,
            max_batch_size=settings.max_batch_size,
            max_queue=settings.max_queue,
            gpu_memory_utilization=settings.gpu_memory_utilization,
            observer=metrics,
        )
    from llmserve.engine.cpu import CPUEngine

    path, name = resolve(settings.model, settings.cache_dir, progress)
    return CPUEngine(
        path,
        name=settings.served_name or name,
        max_batch_size=settings.max_batch_size,
        max_batch_tokens=settings.max_batch_tokens,
        max_queue=settings.max_queue,
        threads=settings.threads,
        observer=metrics,
    )


def build_app(
    settings: Settings, progress: Callable[[int, int, float], None] | None = None
) -> FastAPI:
    """Engine, metrics and API for ``settings``; the app starts and stops the engine."""
    registry = new_registry()
    metrics = LlmMetrics(registry, settings.cost_per_hour)
    engine = build_engine(settings, metrics, progress)
    return create_app(engine, settings, registry=registry, metrics=metrics)


@contextmanager
def server_process(
    env: Mapping[str, str] | None = None, *, workdir: Path | None = None, timeout: float = 180.0
) -> Iterator[RunningService]:
    """``llmserve serve`` as a subprocess on a free port, ready when ``/readyz`` answers 200.

    Args:
        env: ``LLMSERVE_*`` settings for the server (model, batch size, limits...).
        workdir: Where its log goes (temporary by default).
        timeout: Seconds to wait for readiness (a first SmolLM2 start converts the model).
    """

    def argv(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "llmserve",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]

    with http_process(
        "llmserve",
        argv,
        health_path="/readyz",
        env=dict(env or {}),
        workdir=workdir,
        timeout=timeout,
    ) as service:
        yield service
