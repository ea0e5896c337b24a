"""Getting an answer out of the engine: whole (watching the client and the deadline), or as
server-sent events. Either way the engine's request is closed at the end, so a client that
leaves frees its batch slot at the engine's next step."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from llmserve.api.errors import ApiError
from llmserve.api.state import ApiState
from llmserve.engine import Delta, RequestStream
from llmserve.schemas import Ids, error_body, usage_body


async def collect(state: ApiState, stream: RequestStream, request: Request) -> tuple[str, Delta]:
    """The whole answer, watching for a disconnect and the deadline.

    Raises:
        ApiError: 499 the client left, 504 past ``request_timeout``, 503 the engine stopped.
    """
    settings = state.settings
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
                state.metrics.rejected.labels("timeout").inc()
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
    state: ApiState,
    stream: RequestStream,
    piece: Callable[[Delta], dict[str, Any]],
    end: Callable[[Delta], dict[str, Any]],
    ids: Ids,
    include_usage: bool,
    kind: str,
    first: dict[str, Any] | None = None,
) -> StreamingResponse:
    """Server-sent events: one chunk per delta, a final chunk, optional usage, [DONE]."""
    settings, name = state.settings, state.engine.name

    async def events() -> AsyncIterator[str]:
        try:
            if first is not None:
                yield event(first)
            async with asyncio.timeout(settings.request_timeout):
                async for delta in stream:
                    if delta.text:
                        yield event(piece(delta))
                    if delta.finish_reason == "aborted":
                        stopped = error_body(
                            "The engine stopped.", "server_error", code="engine_stopped"
                        )
                        yield event(stopped)
                    elif delta.finish_reason:
                        yield event(end(delta))
                        if include_usage:
                            usage = usage_body(delta.usage, settings.cost_per_hour)
                            yield event(
                                {"id": ids.id, "object": kind, "created": ids.created,
                                 "model": name, "choices": [], "usage": usage}
                            )  # fmt: skip
        except TimeoutError:
            state.metrics.rejected.labels("timeout").inc()
            yield event(
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


def event(payload: dict[str, Any]) -> str:
    """One server-sent event carrying ``payload`` as compact JSON."""
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"
