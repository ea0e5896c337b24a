"""Small pieces every FastAPI app of the repo needs the same way (FastAPI itself comes from
the package using them: every API package depends on it).

:func:`safe_validation_errors` answers a request that fails validation with FastAPI's usual
422 shape (``loc``, ``msg``, ``type``) but without echoing the input back: a body holding
``NaN`` or ``Infinity`` (valid for Python's JSON parser, refused by the model) would otherwise
make the error response itself unserialisable, and the client would get a 500 instead of 422.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def safe_validation_errors(app: FastAPI, on_error: Callable[[Request], None] | None = None) -> None:
    """Install the 422 handler on ``app``.

    Args:
        app: The application.
        on_error: Called with each refused request (to count it in a metric, say).
    """

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if on_error is not None:
            on_error(request)
        detail: list[dict[str, Any]] = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": detail})
