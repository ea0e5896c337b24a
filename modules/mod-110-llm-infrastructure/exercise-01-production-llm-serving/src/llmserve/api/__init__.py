"""The OpenAI-compatible HTTP API over an :class:`~llmserve.engine.Engine`.

Routes: ``POST /v1/completions``, ``POST /v1/chat/completions`` (``stream: true`` is
server-sent events ending in ``data: [DONE]``), ``GET /v1/models``, ``/healthz``, ``/readyz``,
``/metrics``. One module per concern, read in this order:

- :mod:`.state`: what every route shares (engine, settings, metrics, rate limiter) and the
  checks made before any work (key, rate limit, model, lengths);
- :mod:`.errors`: the OpenAI error shape and the handlers that produce it;
- :mod:`.ops`: health, readiness and the model list;
- :mod:`.completions`: the two generation routes;
- :mod:`.streaming`: collecting a whole answer, or relaying it as server-sent events.

Every refusal is an OpenAI-style error body (``{"error": {"message", "type", "param",
"code"}}``), so the official ``openai`` client raises its usual exceptions:

- 400: invalid JSON or fields, ``n > 1``, ``max_tokens`` above the limit, a prompt too long
  for ``max_prompt_tokens`` or for the context;
- 401: a wrong key, when keys are configured;
- 404: a model this server does not serve;
- 429 + ``Retry-After``: the key's rate limit, or the engine's queue is full;
- 503: the engine is not running; 504: the request ran past ``request_timeout``.

A client that disconnects (or stops reading a stream) cancels its request, so its batch slot
is free for the next one at the engine's next step.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client.registry import CollectorRegistry

from aiinfra_shared.apidocs import document_framework_errors
from aiinfra_shared.metrics import instrument_app
from llmserve.api import completions, ops
from llmserve.api.errors import GENERATION_RESPONSES, ApiError, install_error_handlers
from llmserve.api.state import ApiState
from llmserve.config import Settings
from llmserve.engine import Engine
from llmserve.metrics import EngineCollector, LlmMetrics
from llmserve.ratelimit import RateLimiter

__all__ = ["ApiError", "ApiState", "create_app"]


def create_app(
    engine: Engine,
    settings: Settings,
    *,
    registry: CollectorRegistry,
    metrics: LlmMetrics,
    own_engine: bool = True,
) -> FastAPI:
    """The API. ``metrics`` must be the engine's observer; with ``own_engine`` the app starts
    the engine on startup and stops it on shutdown."""
    registry.register(EngineCollector(engine))
    state = ApiState(
        engine=engine,
        settings=settings,
        metrics=metrics,
        limiter=RateLimiter(settings.rate_limit_rpm, settings.rate_limit_burst),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if own_engine:
            engine.start()
        yield
        if own_engine:
            engine.stop()

    app = FastAPI(
        title="llmserve",
        version="1",
        lifespan=lifespan,
        description="OpenAI-compatible completions over a continuous-batching engine.",
    )
    app.state.api = state
    instrument_app(app, prefix="llmserve", registry=registry)
    install_error_handlers(app, metrics)
    app.include_router(ops.router)
    app.include_router(completions.router)
    document_framework_errors(
        app,
        body_unreadable=GENERATION_RESPONSES[400],
        render=app.state.render_http_error,
    )
    _served_model_in_openapi(app, engine.name)
    return app


def _served_model_in_openapi(app: FastAPI, name: str) -> None:
    """The document says which ``model`` this server answers (others get 404), so a client or
    a fuzzer reading it can call the routes that work."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for component in ("CompletionRequest", "ChatCompletionRequest"):
                props = schema["components"]["schemas"][component]["properties"]
                props["model"] = {**props["model"], "enum": [name]}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
