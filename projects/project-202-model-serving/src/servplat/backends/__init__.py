"""Model servers the gateway routes to, each started as its own process:

- :mod:`.classic`: a tabular scorer (scikit-learn), two versions for A/B tests;
- :mod:`.llm`: an OpenAI-compatible LLM server (transformers, one request at a time).

Both continue the gateway's trace (:func:`instrument`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind


def flushing(provider: TracerProvider) -> Callable[[FastAPI], Any]:
    """A FastAPI lifespan that flushes the last spans when the server stops."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        provider.shutdown()

    return lifespan


def instrument(app: FastAPI, provider: TracerProvider) -> None:
    """A SERVER span per request, child of the caller's ``traceparent`` when there is one."""
    tracer = provider.get_tracer("servplat.backend")

    @app.middleware("http")
    async def _trace(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path in ("/healthz", "/metrics"):
            return await call_next(request)
        parent = propagate.extract(dict(request.headers))
        name = f"{request.method} {request.url.path}"
        with tracer.start_as_current_span(name, context=parent, kind=SpanKind.SERVER) as span:
            response = await call_next(request)
            span.set_attribute("http.response.status_code", response.status_code)
            return response
