"""OpenAPI documents that tell the whole truth, for ``schemathesis run --checks all``.

FastAPI documents a route's 200 and its 422; a few answers come from the framework itself and
are left out. :func:`document_framework_errors` adds them to every route that takes a body:

- 400: the body could not be read at all (bytes that are not UTF-8, not JSON); FastAPI answers
  ``{"detail": "There was an error parsing the body"}``.

Call it after the routes are defined (the document is built on first request).
"""

from __future__ import annotations

from typing import Any

BODY_UNREADABLE: dict[str, Any] = {
    "description": "The body could not be read (not UTF-8, or not JSON).",
}


def document_framework_errors(app: Any, extra: dict[int, dict[str, Any]] | None = None) -> None:
    """Add the framework's own error answers to each route with a request body.

    Args:
        app: A FastAPI app whose routes are all defined.
        extra: More status codes every body route can answer (e.g. a body-size middleware's
            413).
    """
    from fastapi.routing import APIRoute

    for route in app.routes:
        if isinstance(route, APIRoute) and route.body_field is not None:
            route.responses.setdefault(400, BODY_UNREADABLE)
            for status, doc in (extra or {}).items():
                route.responses.setdefault(status, doc)
    app.openapi_schema = None  # rebuilt with the additions
