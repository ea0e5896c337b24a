"""Errors in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from llmserve.metrics import LlmMetrics
from llmserve.schemas import error_body


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


def install_error_handlers(app: FastAPI, metrics: LlmMetrics) -> None:
    """:class:`ApiError` as its body; a request that fails validation as a 400 naming the
    first invalid field (OpenAI answers 400 where FastAPI would say 422)."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)

    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        """The framework's own errors (a body that is not JSON, an unknown route, a wrong
        method) in the same OpenAI shape as ours."""
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return JSONResponse(error_body(str(exc.detail), kind), status_code=exc.status_code,
                            headers=exc.headers)  # fmt: skip

    app.state.render_http_error = _http_error

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.rejected.labels("invalid").inc()
        first = exc.errors()[0] if exc.errors() else {}
        # Drop "body" and pydantic's union member tags ("constrained-str", "list[...]").
        location = [
            str(p) for p in first.get("loc", ())
            if p != "body" and not (isinstance(p, str) and ("-" in p or "[" in p))
        ]  # fmt: skip
        message = f"{'.'.join(location) or 'body'}: {first.get('msg', 'invalid request')}"
        return JSONResponse(error_body(message, param=".".join(location) or None), status_code=400)


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """OpenAI's error body."""

    error: ErrorDetail


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


#: Every status a generation route answers besides 200, for the OpenAPI document.
GENERATION_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The completion; with `stream: true`, server-sent events of chunks "
        "ending with `data: [DONE]`.",
        "content": {
            "text/event-stream": {
                "schema": {"type": "object", "properties": {"data": {"type": "string"}}}
            }
        },
    },
    400: _doc(
        "Invalid request (OpenAI answers 400, not 422), or the prompt plus max_tokens "
        "does not fit the context or the server's limits."
    ),
    401: _doc("A wrong or missing API key (when the server has keys)."),
    404: _doc("A model this server does not serve."),
    429: _doc("Over the key's rate limit, or the queue is full; see Retry-After."),
    503: _doc("The engine is down or stopped before the answer was complete."),
    504: _doc("No answer within the request timeout."),
}
