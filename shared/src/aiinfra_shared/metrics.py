"""Prometheus helpers shared by every package.

Metric names follow ``<short>_<what>_<unit>`` (``mlapi_request_duration_seconds``). Each app
owns a registry (``new_registry()``) so tests can build many apps in one process without
"Duplicated timeseries" errors, and mounts it with ``metrics_app(registry)`` at ``/metrics``.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, make_asgi_app

#: Latency buckets in seconds, from 1 ms to 10 s: fine for model calls and HTTP round trips.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

P = ParamSpec("P")
R = TypeVar("R")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def new_registry() -> CollectorRegistry:
    """Return a fresh registry (one per app instance, never the global default)."""
    return CollectorRegistry(auto_describe=True)


class MetricsASGI:
    """ASGI app serving a registry in the Prometheus text format.

    It is a class instance, not a function, so Starlette/FastAPI treat it as an ASGI app in
    ``app.add_route("/metrics", metrics_app(registry))``: served at exactly ``/metrics``,
    without the 307 redirect to ``/metrics/`` that ``app.mount`` gives.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._app: ASGIApp = make_asgi_app(registry=registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request."""
        await self._app(scope, receive, send)


def metrics_app(registry: CollectorRegistry) -> MetricsASGI:
    """The ``/metrics`` app for ``registry``: ``app.add_route("/metrics", metrics_app(reg))``."""
    return MetricsASGI(registry)


def latency_histogram(
    name: str, documentation: str, registry: CollectorRegistry, labelnames: tuple[str, ...] = ()
) -> Histogram:
    """A histogram with the standard latency buckets.

    Args:
        name: Metric name, ending in ``_seconds``.
        documentation: Help text.
        registry: Where to register it.
        labelnames: Label names.

    Returns:
        The histogram.
    """
    if not name.endswith("_seconds"):
        raise ValueError(f"latency metric names end in '_seconds': {name!r}")
    return Histogram(name, documentation, labelnames, registry=registry, buckets=LATENCY_BUCKETS)


@contextmanager
def observe_time(histogram: Histogram, **labels: str) -> Iterator[None]:
    """Time the ``with`` block into ``histogram`` (with ``labels`` if it has any)."""
    target = histogram.labels(**labels) if labels else histogram
    start = time.perf_counter()
    try:
        yield
    finally:
        target.observe(time.perf_counter() - start)


def timed(histogram: Histogram, **labels: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator timing each call of a sync or async function into ``histogram``.

    Example:
        >>> @timed(MODEL_LATENCY)
        ... def predict(x): ...
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                with observe_time(histogram, **labels):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with observe_time(histogram, **labels):
                return func(*args, **kwargs)

        return wrapper

    return decorate


class HTTPMetricsMiddleware:
    """Pure ASGI middleware: request count and latency per method, route template and status.

    The route label is the matched route's template (``/v1/items/{id}``), never the raw path,
    so label cardinality stays bounded; requests that match no route count as ``unmatched``.
    A request refused before routing (a 413 from a body-size middleware, say) is matched
    against ``routes`` here, so it counts under its route and not as ``unmatched``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefix: str,
        registry: CollectorRegistry,
        skip: tuple[str, ...] = (),
        routes: Sequence[Any] = (),
    ) -> None:
        """Wrap ``app``.

        Args:
            app: The ASGI app.
            prefix: Metric name prefix, the package's short name (``mlapi``).
            registry: Where the metrics are registered.
            skip: Path prefixes not measured (e.g. ``("/metrics",)``).
            routes: The app's routes (``app.router.routes``, a live list), to name the route
                of a request that was answered before the router saw it.
        """
        self.app = app
        self.skip = skip
        self.routes = routes
        self.requests = Counter(
            f"{prefix}_http_requests_total",
            "HTTP requests by method, route and status code.",
            ("method", "route", "status"),
            registry=registry,
        )
        self.latency = latency_histogram(
            f"{prefix}_http_request_duration_seconds",
            "HTTP request latency by method and route.",
            registry,
            ("method", "route"),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http" or scope["path"].startswith(self.skip):
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route") or self._match(scope)
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self.requests.labels(method, template, str(status)).inc()
            self.latency.labels(method, template).observe(time.perf_counter() - start)

    def _match(self, scope: Scope) -> Any:
        """The route whose path template matches a request the router never saw."""
        for route in self.routes:
            matches = getattr(route, "matches", None)
            if matches is None:
                continue
            try:
                match, _ = matches(scope)
            except (KeyError, ValueError, TypeError):
                continue
            if getattr(match, "name", "") in {"FULL", "PARTIAL"}:
                return route
        return None


def serve_metrics(app: Any, registry: CollectorRegistry) -> None:
    """Serve ``registry`` at exactly ``/metrics`` of a FastAPI/Starlette ``app`` (no HTTP
    metrics of its own: :func:`instrument_app` adds those too)."""
    app.add_route("/metrics", metrics_app(registry), include_in_schema=False)


def instrument_app(app: Any, *, prefix: str, registry: CollectorRegistry) -> None:
    """Count and time every HTTP request of a FastAPI/Starlette ``app`` (except ``/metrics``
    itself, so scrapes do not count themselves) and serve ``registry`` at ``/metrics``.

    Add it after the app's other middleware, so it sees (and counts) what they refuse.

    Example:
        ``instrument_app(app, prefix="mlapi", registry=registry)``
    """
    app.add_middleware(
        HTTPMetricsMiddleware,
        prefix=prefix,
        registry=registry,
        skip=("/metrics",),
        routes=app.router.routes,
    )
    serve_metrics(app, registry)
