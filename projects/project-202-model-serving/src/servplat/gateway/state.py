"""What every route of the gateway shares, and the calls to backends.

:class:`GatewayState` holds the resolved config, the router (weights, sticky splits, breakers),
the metrics, the tracer, one HTTP client and the micro-batchers. Its methods are the steps of a
request: find the route, assign a variant, call a backend through its breaker with its timeout,
batch single predictions, mirror to a shadow.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import Request
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind, Tracer

from servplat.batcher import MicroBatcher
from servplat.breaker import CircuitBreaker
from servplat.errors import BackendError, BackendUnavailableError
from servplat.gateway.errors import GatewayError
from servplat.gateway.schemas import PredictIn
from servplat.metrics import GatewayMetrics
from servplat.routing import PlatformConfig, RouteConfig, Router

#: (features, the caller's span context) -> that caller's prediction
Batcher = MicroBatcher[tuple[list[float], Any], dict[str, Any]]


@dataclass
class GatewayState:
    """The gateway's shared objects (``app.state.gateway``; routes get it with
    :func:`get_state`)."""

    config: PlatformConfig
    router: Router
    breakers: dict[str, CircuitBreaker]
    metrics: GatewayMetrics
    tracer: Tracer
    admin_key: str | None = None
    client: httpx.AsyncClient | None = None
    batchers: dict[tuple[str, str], Batcher] = field(default_factory=dict)
    background: set[asyncio.Task[None]] = field(default_factory=set)

    # -- admission ---------------------------------------------------------------------------
    def require_admin(self, request: Request) -> None:
        """The admin API needs ``Authorization: Bearer <SERVPLAT_ADMIN_KEY>``.

        Raises:
            GatewayError: 401 without a key, 403 with a wrong one or when no key is set (the
                admin API is then off).
        """
        if not self.admin_key:
            raise GatewayError(
                403, "the admin API is disabled: set SERVPLAT_ADMIN_KEY", code="admin_disabled"
            )
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise GatewayError(
                401,
                "missing admin key: send Authorization: Bearer <key>",
                code="unauthorized",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not hmac.compare_digest(header[7:].strip().encode(), self.admin_key.encode()):
            raise GatewayError(403, "wrong admin key", code="forbidden")

    def route_of(self, model: str, kind: str) -> RouteConfig:
        """The route serving ``model``.

        Raises:
            GatewayError: 404 no such route, 400 a route of the other kind.
        """
        route = self.config.route(model)
        if route is None:
            known = ", ".join(r.model for r in self.config.routes)
            raise GatewayError(
                404, f"no route {model!r}; routes: {known}", param="model", code="model_not_found"
            )
        route_kind = self.config.backends[next(iter(route.variants))].kind
        if route_kind != kind:
            other = "/v1/predict" if route_kind == "classic" else "/v1/chat/completions"
            raise GatewayError(
                400, f"{model!r} is a {route_kind} model: use {other}", param="model"
            )
        return route

    def assign(self, route: RouteConfig, user: str | None) -> tuple[str, bool]:
        """The variant for ``user`` and whether it is a fallback (its own is open).

        Raises:
            GatewayError: 503 when every variant's breaker is open.
        """
        try:
            return self.router.assign(route.model, user)
        except BackendUnavailableError as exc:
            self.metrics.requests.labels(route.model, "none", "503").inc()
            raise GatewayError(503, str(exc), "backend_unavailable", code="circuit_open") from None

    # -- backend calls -----------------------------------------------------------------------
    async def send(
        self, backend: str, path: str, body: dict[str, Any], *, stream: bool = False
    ) -> httpx.Response:
        """One backend call through its breaker, with its timeout, the trace context injected.

        Raises:
            BackendError: Unreachable, timed out, or a 5xx (each counts against its breaker).
        """
        assert self.client is not None, "the gateway's lifespan has not started"
        cfg = self.config.backends[backend]
        breaker = self.breakers[backend]
        headers: dict[str, str] = {}
        propagate.inject(headers)
        started = time.perf_counter()
        request = self.client.build_request(
            "POST", f"{cfg.url}{path}", json=body, headers=headers, timeout=cfg.timeout
        )
        try:
            response = await self.client.send(request, stream=stream)
        except httpx.TimeoutException:
            breaker.failure()
            raise BackendError(
                backend, f"no answer within {cfg.timeout:g} s", timeout=True
            ) from None
        except httpx.HTTPError as exc:
            breaker.failure()
            raise BackendError(backend, f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 500:
            breaker.failure()
            text = (await response.aread()).decode(errors="replace")[:200]
            await response.aclose()
            raise BackendError(backend, f"HTTP {response.status_code}: {text}")
        breaker.success()
        self.metrics.backend.labels(backend).observe(time.perf_counter() - started)
        return response

    async def call_predict(
        self, backend: str, instances: list[list[float]]
    ) -> list[dict[str, Any]]:
        """A batch of predictions from a classic backend, in a CLIENT span.

        Raises:
            BackendError: The backend failed (see :meth:`send`).
            GatewayError: The backend refused the input (its 4xx, passed on).
        """
        with self.tracer.start_as_current_span(
            f"POST {backend} /v1/predict",
            kind=SpanKind.CLIENT,
            attributes={"servplat.backend": backend, "servplat.batch_size": len(instances)},
        ):
            response = await self.send(backend, "/v1/predict", {"instances": instances})
            if response.status_code != 200:
                detail = response.json().get("detail", response.text)
                raise GatewayError(response.status_code, f"{backend}: {detail}", param="features")
            predictions: list[dict[str, Any]] = response.json()["predictions"]
            return predictions

    def batcher(self, route: RouteConfig, backend: str) -> Batcher:
        """The micro-batcher of (route, backend), made on first use."""
        key = (route.model, backend)
        if key in self.batchers:
            return self.batchers[key]
        assert route.batching is not None

        async def send_batch(items: list[tuple[list[float], Any]]) -> list[dict[str, Any]]:
            # A batch serves many traces: its span starts a trace of its own and links to the
            # span of every request in it.
            links = [Link(span_context) for _, span_context in items]
            with self.tracer.start_as_current_span(
                f"batch {backend}",
                context=otel_context.Context(),
                links=links,
                attributes={"servplat.batch_size": len(items)},
            ):
                return await self.call_predict(backend, [features for features, _ in items])

        batcher: Batcher = MicroBatcher(
            send_batch,
            max_batch=route.batching.max_batch,
            max_wait=route.batching.max_wait_ms / 1000,
            eager=route.batching.eager,
            on_batch=lambda n: self.metrics.batch_size.labels(backend).observe(n),
            # A batch the backend refused as a whole (one caller's bad row): each caller is
            # asked again alone, so each gets its own answer, not a neighbour's error.
            split_on=lambda exc: isinstance(exc, GatewayError) and exc.status < 500,
        )
        self.batchers[key] = batcher
        return batcher

    async def predict_on(
        self, route: RouteConfig, backend: str, body: PredictIn
    ) -> list[dict[str, Any]]:
        """Predictions for the request on ``backend``: micro-batched when it is one instance
        and the route batches, else one call."""
        if body.features is not None and route.batching:
            span_context = trace.get_current_span().get_span_context()
            return [await self.batcher(route, backend).submit((body.features, span_context))]
        if body.features is not None:
            self.metrics.batch_size.labels(backend).observe(1)
            return await self.call_predict(backend, [body.features])
        assert body.instances is not None
        self.metrics.batch_size.labels(backend).observe(len(body.instances))
        return await self.call_predict(backend, body.instances)

    def mirror(self, route: RouteConfig, body: PredictIn, served: list[dict[str, Any]]) -> None:
        """Send a copy to the shadow backend in the background; compare its labels."""
        shadow = route.shadow
        assert shadow is not None

        async def run() -> None:
            if not self.breakers[shadow].allow():
                self.metrics.shadow.labels(route.model, "skipped").inc()
                return
            try:
                # Shadow copies ride the shadow backend's micro-batches too: mirrored one by
                # one, they would load it with a call per request.
                answers = await self.predict_on(route, shadow, body)
            except (BackendError, GatewayError):
                self.metrics.shadow.labels(route.model, "error").inc()
                return
            same = [a["label"] for a in answers] == [s["label"] for s in served]
            self.metrics.shadow.labels(route.model, "agree" if same else "disagree").inc()

        task = asyncio.create_task(run())
        self.background.add(task)
        task.add_done_callback(self.background.discard)


def get_state(request: Request) -> GatewayState:
    """The FastAPI dependency that hands a route the app's :class:`GatewayState`."""
    state: GatewayState = request.app.state.gateway
    return state
