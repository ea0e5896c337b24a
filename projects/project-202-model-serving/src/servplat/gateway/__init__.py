"""The gateway: one HTTP entry point in front of every model backend.

- ``POST /v1/predict``: classic models. ``{"model": "scorer", "features": [...], "user": "u1"}``
  (one applicant, micro-batched with others when the route says so) or ``"instances": [[...]]``.
- ``POST /v1/chat/completions`` and ``/v1/completions``: OpenAI-compatible LLM routes, passed
  through to the backend; ``stream: true`` relays its server-sent events as they arrive.
- ``GET /v1/models``; ``/healthz``, ``/readyz``, ``/metrics``.
- ``GET /admin/routes`` (weights, breakers), ``PUT /admin/routes/{model}`` (change weights:
  ramp a canary, roll it back): with ``Authorization: Bearer $SERVPLAT_ADMIN_KEY``.

Per request: pick the route, assign a variant (:class:`~servplat.routing.Router`: weighted,
sticky by user, failing over past open breakers), call it with a timeout through its circuit
breaker, retry once on another variant if the call fails, mirror it to the shadow backend if
the route has one, and record latency, cost and a trace span. Errors have OpenAI's shape.

Read in this order: :mod:`.state` (the shared objects and every step of a request),
:mod:`.predict`, :mod:`.llm`, :mod:`.ops`, :mod:`.schemas`, :mod:`.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from aiinfra_shared.metrics import instrument_app, new_registry
from servplat.breaker import CircuitBreaker
from servplat.errors import ConfigError
from servplat.gateway import llm, ops, predict
from servplat.gateway.errors import GatewayError, install_error_handlers
from servplat.gateway.state import GatewayState
from servplat.metrics import GatewayMetrics
from servplat.routing import PlatformConfig, Router
from servplat.telemetry import tracer_provider

__all__ = ["GatewayError", "GatewayState", "create_app"]


def create_app(
    config: PlatformConfig,
    *,
    exporter: SpanExporter | None = None,
    admin_key: str | None = None,
) -> FastAPI:
    """The gateway over ``config`` (every backend needs a ``url`` by now).

    Args:
        config: Backends and routes.
        exporter: Where spans go (default: OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set).
        admin_key: The key of the admin API; None turns it off (403).

    Raises:
        ConfigError: A backend has no url.
    """
    missing = [name for name, b in config.backends.items() if not b.url]
    if missing:
        raise ConfigError(f"backends without a url: {missing} (servplat up starts them)")
    registry = new_registry()
    metrics = GatewayMetrics(registry)
    breakers = {
        name: CircuitBreaker(
            name,
            b.breaker.failure_threshold,
            b.breaker.reset_timeout,
            on_change=metrics.breaker_changed,
        )
        for name, b in config.backends.items()
    }
    for name in breakers:
        metrics.breaker_state.labels(name).set(0)
    provider = tracer_provider("servplat-gateway", exporter)
    state = GatewayState(
        config=config,
        router=Router(config, breakers),
        breakers=breakers,
        metrics=metrics,
        tracer=provider.get_tracer("servplat.gateway"),
        admin_key=admin_key,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        # No client-wide timeout: each call gets its backend's (GatewayState.send).
        state.client = httpx.AsyncClient(limits=limits, timeout=None)  # noqa: S113
        yield
        await state.client.aclose()
        provider.shutdown()

    app = FastAPI(
        title="servplat gateway",
        version="1",
        lifespan=lifespan,
        description="Routing, A/B splits, batching and streaming to model backends.",
    )
    app.state.gateway = state
    app.state.breakers = breakers
    app.state.router = state.router
    instrument_app(app, prefix="servplat", registry=registry)
    install_error_handlers(app)
    app.include_router(predict.router)
    app.include_router(llm.router)
    app.include_router(ops.router)
    return app
