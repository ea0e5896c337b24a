"""OpenAPI documents that tell the whole truth, for ``schemathesis run --checks all``.

FastAPI documents a route's 200 and its 422; a few answers come from the framework itself and
are left out. :func:`document_framework_errors` adds them to every route that takes a body:

- 400: the body could not be read at all (bytes that are not UTF-8, not JSON); FastAPI answers
  ``{"detail": "There was an error parsing the body"}``.

It also makes a 405's ``Allow`` header list every method of the path: Starlette names only
the methods of the first route whose path matched, so a path served by a GET route and a POST
route answered ``OPTIONS`` with ``Allow: GET``.

Call it after the routes are defined (the document is built on first request).
"""

from __future__ import annotations

from typing import Any

BODY_UNREADABLE: dict[str, Any] = {
    "description": "The body could not be read (not UTF-8, or not JSON).",
}


def document_framework_errors(
    app: Any,
    extra: dict[int, dict[str, Any]] | None = None,
    *,
    body_unreadable: dict[str, Any] | None = None,
    render: Any = None,
) -> None:
    """Add the framework's own error answers to each route with a request body.

    Args:
        app: A FastAPI app whose routes are all defined.
        extra: More status codes every body route can answer (e.g. a body-size middleware's
            413).
        body_unreadable: The 400's documentation (an API with its own error shape gives its
            ``model``); default a description only.
        render: ``async (request, exc) -> Response`` for the framework's HTTP errors (an API
            with its own error shape); default FastAPI's ``{"detail": ...}``.
    """
    from fastapi.routing import APIRoute

    for route in app.routes:
        if isinstance(route, APIRoute) and route.body_field is not None:
            route.responses.setdefault(400, body_unreadable or BODY_UNREADABLE)
            for status, doc in (extra or {}).items():
                route.responses.setdefault(status, doc)
    app.openapi_schema = None  # rebuilt with the additions
    _allow_every_method(app, render)


def _allow_every_method(app: Any, render: Any = None) -> None:
    from fastapi.exception_handlers import http_exception_handler
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.requests import Request
    from starlette.routing import Match

    async def handler(request: Request, exc: StarletteHTTPException) -> Any:
        if exc.status_code == 405:
            scope = dict(request.scope)
            allowed: set[str] = set()
            for route in app.router.routes:
                methods = getattr(route, "methods", None)
                if methods and route.matches(scope)[0] in (Match.PARTIAL, Match.FULL):
                    allowed |= set(methods)
            if allowed:
                exc.headers = {**(exc.headers or {}), "Allow": ", ".join(sorted(allowed))}
        return await (render or http_exception_handler)(request, exc)

    app.add_exception_handler(StarletteHTTPException, handler)
