"""The OpenAI-compatible LLM routes: ``/v1/chat/completions`` and ``/v1/completions``, routed
by ``model`` and passed through to the assigned backend.

A streamed answer is relayed event by event as it arrives. Cost is per token, so the gateway
needs the token count of every answer, streamed ones included: it always asks the backend for a
final usage chunk (``stream_options.include_usage``) and drops that chunk on the way back when
the client did not ask for it. A backend that sends no usage is billed one token per content
chunk (flagged on the span as estimated).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from servplat.errors import BackendError
from servplat.gateway.errors import GatewayError
from servplat.gateway.schemas import errors
from servplat.gateway.state import GatewayState, get_state

router = APIRouter()
State = Annotated[GatewayState, Depends(get_state)]

#: Server-sent events end with a blank line (LF or CRLF line ends).
EVENT_END = re.compile(rb"\r?\n\r?\n")

_BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["model"],
                    "properties": {
                        "model": {"type": "string"},
                        "stream": {"type": "boolean"},
                        "user": {"type": "string"},
                    },
                    "additionalProperties": True,
                }
            }
        },
    }
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The backend's answer: JSON, or server-sent events with `stream: true`.",
        "content": {"application/json": {}, "text/event-stream": {}},
    },
    **errors(400, 404, 422, 429, 502, 503, 504),
}


class _Accounting:
    """Tokens of one answer: the backend's usage chunk, else one per content chunk."""

    def __init__(self) -> None:
        self.usage: dict[str, Any] | None = None
        self.content_chunks = 0

    def tokens(self) -> tuple[int, bool]:
        """(tokens, estimated)."""
        if self.usage is not None:
            return int(self.usage.get("total_tokens", 0)), False
        return self.content_chunks, True


def _inspect(event: bytes, seen: _Accounting) -> bool:
    """Record what an event says about tokens; True when it is a usage-only chunk."""
    for line in event.splitlines():
        if not line.startswith(b"data: {"):
            continue
        try:
            payload = json.loads(line[6:])
        except ValueError:
            return False
        if not isinstance(payload, dict):
            return False
        choices = payload.get("choices")
        if isinstance(payload.get("usage"), dict):
            seen.usage = payload["usage"]
            if choices == []:
                return True
        if choices:
            first = choices[0] if isinstance(choices[0], dict) else {}
            text = (first.get("delta") or {}).get("content") or first.get("text")
            if text:
                seen.content_chunks += 1
    return False


async def _relay(
    state: GatewayState,
    request: Request,
    path: str,
) -> Any:
    try:
        body = await request.json()
    except ValueError:  # json.JSONDecodeError, or bytes that are not UTF-8
        raise GatewayError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        raise GatewayError(400, "model: a string is required", param="model")
    route = state.route_of(body["model"], "llm")
    user = body.get("user") if isinstance(body.get("user"), str) else None
    user = user or request.headers.get("x-user-id")
    started = time.perf_counter()
    parent = propagate.extract(dict(request.headers))
    span = state.tracer.start_span(f"{path} {route.model}", context=parent, kind=SpanKind.SERVER)
    backend, fallback = state.assign(route, user)
    span.set_attributes(
        {"servplat.route": route.model, "servplat.variant": backend, "servplat.fallback": fallback}
    )
    cfg = state.config.backends[backend]
    upstream = {**body, "model": cfg.model or body["model"]}
    stream = body.get("stream") is True
    raw_options = body.get("stream_options")
    options: dict[str, Any] = raw_options if isinstance(raw_options, dict) else {}
    client_wants_usage = bool(options.get("include_usage"))
    if stream:
        upstream["stream_options"] = {**options, "include_usage": True}
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        with state.tracer.start_as_current_span(f"POST {backend} {path}", kind=SpanKind.CLIENT):
            response = await state.send(backend, path, upstream, stream=stream)
    except BackendError as exc:
        span.set_status(Status(StatusCode.ERROR, str(exc)))
        span.end()
        status = 504 if exc.timeout else 502
        state.metrics.requests.labels(route.model, backend, str(status)).inc()
        raise GatewayError(status, str(exc), "backend_error") from None
    finally:
        otel_context.detach(token)

    def account(span: Span, status: int, seen: _Accounting) -> None:
        tokens, estimated = seen.tokens()
        state.metrics.requests.labels(route.model, backend, str(status)).inc()
        state.metrics.cost.labels(route.model, backend).inc(cfg.price_per_1k * tokens / 1000)
        span.set_attribute("servplat.tokens", tokens)
        span.set_attribute("servplat.tokens_estimated", estimated)
        span.end()

    headers = {"X-Servplat-Variant": backend}
    if not stream or response.status_code != 200:
        raw = await response.aread()
        await response.aclose()
        try:
            data = json.loads(raw)
        except ValueError:
            account(span, 502, _Accounting())
            raise GatewayError(502, f"backend {backend}: not JSON", "backend_error") from None
        seen = _Accounting()
        if isinstance(data, dict) and isinstance(data.get("usage"), dict):
            seen.usage = data["usage"]
        if response.status_code == 200 and isinstance(data, dict):
            data["model"] = route.model
            state.metrics.duration.labels(route.model, backend).observe(
                time.perf_counter() - started
            )
        account(span, response.status_code, seen)
        return JSONResponse(data, status_code=response.status_code, headers=headers)

    async def relay() -> AsyncIterator[bytes]:
        seen = _Accounting()
        pending = b""
        try:
            async for chunk in response.aiter_raw():
                pending += chunk
                while match := EVENT_END.search(pending):
                    event, pending = pending[: match.end()], pending[match.end() :]
                    if _inspect(event, seen) and not client_wants_usage:
                        continue  # the usage chunk the gateway asked for, not the client
                    yield event
            if pending:
                yield pending
        finally:
            # Runs when the client disconnects too: closing the upstream response tells the
            # backend to stop generating.
            await response.aclose()
            account(span, 200, seen)

    return StreamingResponse(
        relay(),
        media_type="text/event-stream",
        headers={**headers, "Cache-Control": "no-cache"},
    )


@router.post(
    "/v1/chat/completions", response_model=None, openapi_extra=_BODY_SCHEMA, responses=_RESPONSES
)
async def chat_completions(request: Request, state: State) -> Any:
    """OpenAI chat completions, routed by ``model`` and passed through."""
    return await _relay(state, request, "/v1/chat/completions")


@router.post(
    "/v1/completions", response_model=None, openapi_extra=_BODY_SCHEMA, responses=_RESPONSES
)
async def completions(request: Request, state: State) -> Any:
    """OpenAI completions, routed by ``model`` and passed through."""
    return await _relay(state, request, "/v1/completions")
