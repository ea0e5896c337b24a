"""The OpenAI-compatible HTTP API over an :class:`~llmserve.engine.Engine`.

Routes: ``POST /v1/completions``, ``POST /v1/chat/completions`` (``stream: true`` is
server-sent events ending in ``data: [DONE]``), ``GET /v1/models``, ``/healthz``, ``/readyz``,
``/metrics``.

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

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client.registry import CollectorRegistry

from aiinfra_shared.metrics import instrument_app
from llmserve.config import Settings
from llmserve.engine import Delta, Engine, RequestStream, SamplingParams
from llmserve.errors import EngineError, QueueFullError
from llmserve.metrics import EngineCollector, LlmMetrics
from llmserve.ratelimit import RateLimiter
from llmserve.schemas import (
    ChatCompletionRequest,
    CompletionRequest,
    Ids,
    error_body,
    usage_body,
)

logger = logging.getLogger(__name__)

#: OpenAI's default ``max_tokens`` for the legacy completions route.
COMPLETIONS_DEFAULT_MAX_TOKENS = 16


class ApiError(Exception):
    """An HTTP error with an OpenAI-style body."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, type_, param, code)
        self.headers = headers or {}


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
    limiter = RateLimiter(settings.rate_limit_rpm, settings.rate_limit_burst)
    registry.register(EngineCollector(engine))

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
    instrument_app(app, prefix="llmserve", registry=registry)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.rejected.labels("invalid").inc()
        first = exc.errors()[0] if exc.errors() else {}
        location = [str(p) for p in first.get("loc", ()) if p != "body"]
        message = f"{'.'.join(location) or 'body'}: {first.get('msg', 'invalid request')}"
        return JSONResponse(error_body(message, param=".".join(location) or None), status_code=400)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        """Readiness: the engine is running and accepting requests."""
        stats = engine.stats()
        body = {
            "status": "ready" if stats.accepting else "not ready",
            "model": engine.name,
            "waiting": stats.waiting,
            "running": stats.running,
        }
        return JSONResponse(body, status_code=200 if stats.accepting else 503)

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        """The one model this server serves."""
        ids = Ids("model")
        return {
            "object": "list",
            "data": [
                {
                    "id": engine.name,
                    "object": "model",
                    "created": ids.created,
                    "owned_by": "llmserve",
                }
            ],
        }

    def admit(request: Request, model: str) -> None:
        """Key, rate limit and model checks, before any work."""
        header = request.headers.get("authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if settings.api_keys and key not in settings.api_keys:
            metrics.rejected.labels("unauthorized").inc()
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
        who = key or (request.client.host if request.client else "unknown")
        allowed, _, retry = limiter.acquire(who)
        if not allowed:
            metrics.rejected.labels("rate_limited").inc()
            raise ApiError(
                429,
                f"Rate limit reached: {settings.rate_limit_rpm} requests per minute.",
                "requests",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(retry)},
            )
        if model != engine.name:
            raise ApiError(
                404,
                f"The model '{model}' does not exist; this server serves '{engine.name}'.",
                param="model",
                code="model_not_found",
            )

    def limits(prompt_ids: list[int], requested: int | None, default: int, param: str) -> int:
        """Check prompt and output lengths; return max_tokens."""
        if len(prompt_ids) > settings.max_prompt_tokens:
            raise ApiError(
                400,
                f"The prompt has {len(prompt_ids)} tokens; this server accepts "
                f"at most {settings.max_prompt_tokens}.",
                param=param,
                code="context_length_exceeded",
            )
        max_tokens = requested or min(default, settings.max_tokens_limit)
        if max_tokens > settings.max_tokens_limit:
            raise ApiError(
                400,
                f"max_tokens is {max_tokens}; the limit is {settings.max_tokens_limit}.",
                param="max_tokens",
            )
        if len(prompt_ids) + max_tokens > engine.max_model_len:
            raise ApiError(
                400,
                f"The prompt ({len(prompt_ids)} tokens) plus max_tokens "
                f"({max_tokens}) exceeds the model's context of "
                f"{engine.max_model_len} tokens.",
                param=param,
                code="context_length_exceeded",
            )
        return max_tokens

    def open_stream(prompt_ids: list[int], params: SamplingParams) -> RequestStream:
        try:
            return engine.open(prompt_ids, params)
        except QueueFullError as exc:
            metrics.rejected.labels("queue_full").inc()
            raise ApiError(
                429,
                f"The server is at capacity: {exc}. Retry later.",
                "server_overloaded",
                code="queue_full",
                headers={"Retry-After": str(exc.retry_after)},
            ) from None
        except EngineError as exc:
            raise ApiError(503, str(exc), "server_error", code="engine_unavailable") from None

    @app.post("/v1/completions", response_model=None)
    async def completions(body: CompletionRequest, request: Request) -> Any:
        """Continue a prompt (OpenAI's legacy completions)."""
        admit(request, body.model)
        prompt_ids = engine.encode_prompt(body.text)
        max_tokens = limits(prompt_ids, body.max_tokens, COMPLETIONS_DEFAULT_MAX_TOKENS, "prompt")
        stream = open_stream(prompt_ids, body.sampling(max_tokens))
        ids = Ids("cmpl")

        def chunk(text: str, finish: str | None) -> dict[str, Any]:
            return {
                "id": ids.id,
                "object": "text_completion",
                "created": ids.created,
                "model": engine.name,
                "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}],
            }

        if body.stream:
            return sse(
                stream,
                lambda d: chunk(d.text, None),
                lambda d: chunk("", d.finish_reason),
                ids,
                body.include_usage,
                "text_completion",
            )
        text, last = await collect(stream, request)
        return {
            **chunk(text, last.finish_reason),
            "usage": usage_body(last.usage, settings.cost_per_hour),
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
        """Answer a conversation."""
        admit(request, body.model)
        messages = [m.model_dump() for m in body.messages]
        try:
            prompt_ids = engine.encode_chat(messages)
        except EngineError as exc:
            raise ApiError(400, str(exc), param="messages") from None
        max_tokens = limits(
            prompt_ids, body.requested_max_tokens, settings.default_max_tokens, "messages"
        )
        stream = open_stream(prompt_ids, body.sampling(max_tokens))
        ids = Ids("chatcmpl")

        def chunk(delta: dict[str, str], finish: str | None) -> dict[str, Any]:
            return {
                "id": ids.id,
                "object": "chat.completion.chunk",
                "created": ids.created,
                "model": engine.name,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }

        if body.stream:
            first = chunk({"role": "assistant", "content": ""}, None)
            return sse(
                stream,
                lambda d: chunk({"content": d.text}, None),
                lambda d: chunk({}, d.finish_reason),
                ids,
                body.include_usage,
                "chat.completion.chunk",
                first=first,
            )
        text, last = await collect(stream, request)
        return {
            "id": ids.id,
            "object": "chat.completion",
            "created": ids.created,
            "model": engine.name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": None,
                    "finish_reason": last.finish_reason,
                }
            ],
            "usage": usage_body(last.usage, settings.cost_per_hour),
        }

    async def collect(stream: RequestStream, request: Request) -> tuple[str, Delta]:
        """The whole answer, watching for a disconnect and the deadline."""
        parts: list[str] = []
        last: list[Delta] = []

        async def consume() -> None:
            async for delta in stream:
                parts.append(delta.text)
                last.append(delta)

        task = asyncio.create_task(consume())
        deadline = asyncio.get_running_loop().time() + settings.request_timeout
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=0.2)
                if task.done():
                    break
                if await request.is_disconnected():
                    raise ApiError(499, "client closed the request", code="client_closed")
                if asyncio.get_running_loop().time() > deadline:
                    metrics.rejected.labels("timeout").inc()
                    raise ApiError(
                        504,
                        f"The request took longer than {settings.request_timeout:g} s.",
                        "timeout",
                        code="timeout",
                    )
            task.result()
        finally:
            task.cancel()
            await stream.aclose()  # cancels the request if it is still generating
        if last[-1].finish_reason == "aborted":
            raise ApiError(
                503,
                "The engine stopped before the answer was complete.",
                "server_error",
                code="engine_stopped",
            )
        return "".join(parts), last[-1]

    def sse(
        stream: RequestStream,
        piece: Callable[[Delta], dict[str, Any]],
        end: Callable[[Delta], dict[str, Any]],
        ids: Ids,
        include_usage: bool,
        kind: str,
        first: dict[str, Any] | None = None,
    ) -> StreamingResponse:
        """Server-sent events: one chunk per delta, a final chunk, optional usage, [DONE]."""

        async def events() -> AsyncIterator[str]:
            try:
                if first is not None:
                    yield _event(first)
                async with asyncio.timeout(settings.request_timeout):
                    async for delta in stream:
                        if delta.text:
                            yield _event(piece(delta))
                        if delta.finish_reason == "aborted":
                            yield _event(
                                error_body(
                                    "The engine stopped.", "server_error", code="engine_stopped"
                                )
                            )
                        elif delta.finish_reason:
                            yield _event(end(delta))
                            if include_usage:
                                yield _event(
                                    {
                                        "id": ids.id,
                                        "object": kind,
                                        "created": ids.created,
                                        "model": engine.name,
                                        "choices": [],
                                        "usage": usage_body(delta.usage, settings.cost_per_hour),
                                    }
                                )
            except TimeoutError:
                metrics.rejected.labels("timeout").inc()
                yield _event(
                    error_body(
                        f"The request took longer than {settings.request_timeout:g} s.",
                        "timeout",
                        code="timeout",
                    )
                )
            finally:
                # Runs on normal end, on timeout, and when Starlette cancels this generator
                # because the client disconnected: the engine drops the request either way.
                await stream.aclose()
            yield "data: [DONE]\n\n"

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Request-Id": ids.id},
        )

    return app


def _event(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"
