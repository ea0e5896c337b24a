"""The gateway: one HTTP entry point in front of every model backend.

- ``POST /v1/predict``: classic models. ``{"model": "scorer", "features": [...], "user": "u1"}``
  (one applicant, micro-batched with others when the route says so) or ``"instances": [[...]]``.
- ``POST /v1/chat/completions`` and ``/v1/completions``: OpenAI-compatible LLM routes, passed
  through to the backend; ``stream: true`` relays its server-sent events byte for byte.
- ``GET /v1/models``; ``GET /admin/routes`` (weights, breakers); ``PUT /admin/routes/{model}``
  (change weights: ramp a canary, roll it back); ``/healthz``, ``/readyz``, ``/metrics``.

Per request: pick the route, assign a variant (:class:`~servplat.routing.Router`: weighted,
sticky by user, failing over past open breakers), call it with a timeout through its circuit
breaker, retry once on another variant if the call fails, mirror it to the shadow backend if
the route has one, and record latency, cost and a trace span. Errors have OpenAI's shape.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from pydantic import BaseModel, Field, model_validator

from aiinfra_shared.metrics import instrument_app, new_registry
from servplat.batcher import MicroBatcher
from servplat.breaker import OPEN, CircuitBreaker
from servplat.errors import BackendError, BackendUnavailableError, ConfigError
from servplat.metrics import GatewayMetrics
from servplat.routing import PlatformConfig, RouteConfig, Router
from servplat.telemetry import tracer_provider


class GatewayError(Exception):
    """An HTTP error with an OpenAI-style body."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type_, "param": param, "code": code}}


class PredictIn(BaseModel):
    """One applicant (``features``) or a batch (``instances``) for a classic route."""

    model: str = Field(min_length=1)
    features: list[float] | None = None
    instances: list[list[float]] | None = Field(default=None, min_length=1, max_length=1024)
    user: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> PredictIn:
        if (self.features is None) == (self.instances is None):
            raise ValueError("give either features (one instance) or instances (a batch)")
        return self


class WeightsIn(BaseModel):
    """New weights for a route's variants."""

    variants: dict[str, float] = Field(min_length=1)


def create_app(config: PlatformConfig, *, exporter: SpanExporter | None = None) -> FastAPI:
    """The gateway over ``config`` (every backend needs a ``url`` by now)."""
    missing = [name for name, b in config.backends.items() if not b.url]
    if missing:
        raise ConfigError(f"backends without a url: {missing} (servplat up starts them)")
    registry = new_registry()
    metrics = GatewayMetrics(registry)
    breakers = {
        name: CircuitBreaker(
            name,
            b.breaker.failure_threshold,
            b.breaker.reset_timeout,
            on_change=metrics.breaker_changed,
        )
        for name, b in config.backends.items()
    }
    for name in breakers:
        metrics.breaker_state.labels(name).set(0)
    router = Router(config, breakers)
    provider = tracer_provider("servplat-gateway", exporter)
    tracer = provider.get_tracer("servplat.gateway")
    clients: list[httpx.AsyncClient] = []
    batchers: dict[tuple[str, str], MicroBatcher[tuple[list[float], Any], dict[str, Any]]] = {}
    background: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        # No client-wide timeout: each call gets its backend's (see send()).
        clients.append(httpx.AsyncClient(limits=limits, timeout=None))  # noqa: S113
        yield
        await clients[0].aclose()
        provider.shutdown()

    app = FastAPI(
        title="servplat gateway",
        version="1",
        lifespan=lifespan,
        description="Routing, A/B splits, batching and streaming to model backends.",
    )
    instrument_app(app, prefix="servplat", registry=registry)
    app.state.breakers = breakers
    app.state.router = router

    @app.exception_handler(GatewayError)
    async def _gateway_error(_: Request, exc: GatewayError) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        param = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
        message = f"{param or 'body'}: {first.get('msg', 'invalid request')}"
        return JSONResponse(GatewayError(400, message, param=param).body, status_code=400)

    # -- helpers ------------------------------------------------------------------------
    def route_of(model: str, kind: str) -> RouteConfig:
        route = config.route(model)
        if route is None:
            known = ", ".join(r.model for r in config.routes)
            raise GatewayError(
                404, f"no route {model!r}; routes: {known}", param="model", code="model_not_found"
            )
        route_kind = config.backends[next(iter(route.variants))].kind
        if route_kind != kind:
            other = "/v1/predict" if route_kind == "classic" else "/v1/chat/completions"
            raise GatewayError(
                400, f"{model!r} is a {route_kind} model: use {other}", param="model"
            )
        return route

    def assign(route: RouteConfig, user: str | None) -> tuple[str, bool]:
        try:
            return router.assign(route.model, user)
        except BackendUnavailableError as exc:
            metrics.requests.labels(route.model, "none", "503").inc()
            raise GatewayError(503, str(exc), "backend_unavailable", code="circuit_open") from None

    async def send(
        backend: str, path: str, body: dict[str, Any], *, stream: bool = False
    ) -> httpx.Response:
        """One backend call through its breaker, in a CLIENT span, with its timeout."""
        cfg = config.backends[backend]
        headers: dict[str, str] = {}
        propagate.inject(headers)
        started = time.perf_counter()
        request = clients[0].build_request(
            "POST", f"{cfg.url}{path}", json=body, headers=headers, timeout=cfg.timeout
        )
        try:
            response = await clients[0].send(request, stream=stream)
        except httpx.TimeoutException:
            breakers[backend].failure()
            raise BackendError(
                backend, f"no answer within {cfg.timeout:g} s", timeout=True
            ) from None
        except httpx.HTTPError as exc:
            breakers[backend].failure()
            raise BackendError(backend, f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 500:
            breakers[backend].failure()
            text = (await response.aread()).decode(errors="replace")[:200]
            await response.aclose()
            raise BackendError(backend, f"HTTP {response.status_code}: {text}")
        breakers[backend].success()
        metrics.backend.labels(backend).observe(time.perf_counter() - started)
        return response

    async def call_predict(backend: str, instances: list[list[float]]) -> list[dict[str, Any]]:
        with tracer.start_as_current_span(
            f"POST {backend} /v1/predict",
            kind=SpanKind.CLIENT,
            attributes={"servplat.backend": backend, "servplat.batch_size": len(instances)},
        ):
            response = await send(backend, "/v1/predict", {"instances": instances})
            if response.status_code != 200:
                detail = response.json().get("detail", response.text)
                raise GatewayError(response.status_code, f"{backend}: {detail}", param="features")
            predictions: list[dict[str, Any]] = response.json()["predictions"]
            return predictions

    def batcher(
        route: RouteConfig, backend: str
    ) -> MicroBatcher[tuple[list[float], Any], dict[str, Any]]:
        key = (route.model, backend)
        if key not in batchers:
            assert route.batching is not None

            async def send_batch(items: list[tuple[list[float], Any]]) -> list[dict[str, Any]]:
                # A batch serves many traces: its span starts a trace of its own and links to
                # the span of every request in it.
                links = [Link(span_context) for _, span_context in items]
                with tracer.start_as_current_span(
                    f"batch {backend}",
                    context=otel_context.Context(),
                    links=links,
                    attributes={"servplat.batch_size": len(items)},
                ):
                    return await call_predict(backend, [features for features, _ in items])

            batchers[key] = MicroBatcher(
                send_batch,
                max_batch=route.batching.max_batch,
                max_wait=route.batching.max_wait_ms / 1000,
                on_batch=lambda n: metrics.batch_size.labels(backend).observe(n),
            )
        return batchers[key]

    async def predict_on(route: RouteConfig, backend: str, body: PredictIn) -> list[dict[str, Any]]:
        if body.features is not None and route.batching:
            span_context = trace.get_current_span().get_span_context()
            return [await batcher(route, backend).submit((body.features, span_context))]
        if body.features is not None:
            metrics.batch_size.labels(backend).observe(1)
            return await call_predict(backend, [body.features])
        assert body.instances is not None
        metrics.batch_size.labels(backend).observe(len(body.instances))
        return await call_predict(backend, body.instances)

    def mirror(route: RouteConfig, body: PredictIn, served: list[dict[str, Any]]) -> None:
        """Send a copy to the shadow backend in the background; compare its labels."""
        shadow = route.shadow
        assert shadow is not None

        async def run() -> None:
            if not breakers[shadow].allow():
                metrics.shadow.labels(route.model, "skipped").inc()
                return
            try:
                if body.features is not None and route.batching:
                    # Shadow copies ride the shadow backend's micro-batches too: mirrored one
                    # by one, they would load it with a call per request.
                    span_context = trace.get_current_span().get_span_context()
                    answers = [await batcher(route, shadow).submit((body.features, span_context))]
                else:
                    instances = [body.features] if body.features is not None else body.instances
                    answers = await call_predict(shadow, instances or [])
            except (BackendError, GatewayError):
                metrics.shadow.labels(route.model, "error").inc()
                return
            same = [a["label"] for a in answers] == [s["label"] for s in served]
            metrics.shadow.labels(route.model, "agree" if same else "disagree").inc()

        task = asyncio.create_task(run())
        background.add(task)
        task.add_done_callback(background.discard)

    # -- routes -------------------------------------------------------------------------------
    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> dict[str, Any]:
        """Ready once started; routes whose every variant has an open breaker are *reported*.

        A readiness probe must not fail on a backend outage: every gateway pod would leave
        the Service at once, and the routes that still work would go down with the broken one.
        """
        down = [
            r.model
            for r in config.routes
            if all(breakers[b].state == OPEN for b, w in router.weights(r.model).items() if w > 0)
        ]
        return {"status": "degraded" if down else "ready", "routes_down": down}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        """The routes clients can call."""
        data = [
            {
                "id": r.model,
                "object": "model",
                "owned_by": "servplat",
                "kind": config.backends[next(iter(r.variants))].kind,
            }
            for r in config.routes
        ]
        return {"object": "list", "data": data}

    @app.get("/admin/routes")
    def routes() -> list[dict[str, Any]]:
        """Routes with their current weights and their backends' breaker states."""
        return [
            {
                "model": r.model,
                "variants": router.weights(r.model),
                "sticky": r.sticky,
                "shadow": r.shadow,
                "batching": r.batching.model_dump() if r.batching else None,
                "breakers": {
                    b: breakers[b].state for b in {*r.variants, *filter(None, [r.shadow])}
                },
            }
            for r in config.routes
        ]

    @app.put("/admin/routes/{model}")
    def set_weights(model: str, body: WeightsIn) -> dict[str, Any]:
        """New weights for a route (a canary step or a rollback)."""
        if config.route(model) is None:
            raise GatewayError(404, f"no route {model!r}", param="model", code="model_not_found")
        try:
            return {"model": model, "variants": router.set_weights(model, body.variants)}
        except ConfigError as exc:
            raise GatewayError(400, str(exc), param="variants") from None

    @app.post("/v1/predict")
    async def predict(body: PredictIn, request: Request) -> JSONResponse:
        """Score one applicant or a batch on the route's assigned variant."""
        route = route_of(body.model, "classic")
        user = body.user or request.headers.get("x-user-id")
        started = time.perf_counter()
        parent = propagate.extract(dict(request.headers))
        with tracer.start_as_current_span(
            f"predict {route.model}", context=parent, kind=SpanKind.SERVER
        ) as span:
            backend, fallback = assign(route, user)
            try:
                served = await predict_on(route, backend, body)
            except BackendError as first:
                # Stop at the first variant whose breaker lets a request through (asking a
                # half-open breaker takes its trial slot).
                retry = next(
                    (
                        n
                        for n, w in router.weights(route.model).items()
                        if n != backend and w > 0 and breakers[n].allow()
                    ),
                    None,
                )
                if retry is None:
                    status = 504 if first.timeout else 502
                    metrics.requests.labels(route.model, backend, str(status)).inc()
                    span.set_status(Status(StatusCode.ERROR, str(first)))
                    raise GatewayError(
                        status,
                        str(first),
                        "backend_error",
                        code="timeout" if first.timeout else "backend_failed",
                    ) from None
                backend, fallback = retry, True
                served = await predict_on(route, backend, body)
            span.set_attributes(
                {
                    "servplat.route": route.model,
                    "servplat.variant": backend,
                    "servplat.fallback": fallback,
                    "servplat.user": user or "",
                }
            )
        elapsed = time.perf_counter() - started
        if fallback:
            metrics.fallbacks.labels(route.model).inc()
        if route.shadow and route.shadow != backend:
            mirror(route, body, served)
        cost = config.backends[backend].price_per_1k * len(served) / 1000
        metrics.requests.labels(route.model, backend, "200").inc()
        metrics.duration.labels(route.model, backend).observe(elapsed)
        metrics.cost.labels(route.model, backend).inc(cost)
        payload: dict[str, Any] = {
            "model": route.model,
            "variant": backend,
            "fallback": fallback,
            "cost_usd": round(cost, 8),
            "latency_ms": round(elapsed * 1000, 2),
        }
        if body.features is not None:
            payload["prediction"] = served[0]
        else:
            payload["predictions"] = served
        return JSONResponse(payload, headers={"X-Servplat-Variant": backend})

    async def relay_llm(request: Request, path: str) -> Any:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise GatewayError(400, "the body is not valid JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            raise GatewayError(400, "model: a string is required", param="model")
        route = route_of(body["model"], "llm")
        user = body.get("user") or request.headers.get("x-user-id")
        started = time.perf_counter()
        parent = propagate.extract(dict(request.headers))
        span = tracer.start_span(f"{path} {route.model}", context=parent, kind=SpanKind.SERVER)
        backend, fallback = assign(route, user)
        span.set_attributes(
            {
                "servplat.route": route.model,
                "servplat.variant": backend,
                "servplat.fallback": fallback,
            }
        )
        upstream = {**body, "model": config.backends[backend].model or body["model"]}
        stream = bool(body.get("stream"))
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            with tracer.start_as_current_span(f"POST {backend} {path}", kind=SpanKind.CLIENT):
                response = await send(backend, path, upstream, stream=stream)
        except BackendError as exc:
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            span.end()
            status = 504 if exc.timeout else 502
            metrics.requests.labels(route.model, backend, str(status)).inc()
            raise GatewayError(status, str(exc), "backend_error") from None
        finally:
            otel_context.detach(token)
        price = config.backends[backend].price_per_1k

        def account(status: int, usage: dict[str, Any] | None) -> None:
            tokens = int((usage or {}).get("total_tokens", 0))
            metrics.requests.labels(route.model, backend, str(status)).inc()
            metrics.cost.labels(route.model, backend).inc(price * tokens / 1000)
            span.set_attribute("servplat.tokens", tokens)
            span.end()

        if not stream or response.status_code != 200:
            data = json.loads(await response.aread())
            await response.aclose()
            if response.status_code == 200:
                data["model"] = route.model
                metrics.duration.labels(route.model, backend).observe(time.perf_counter() - started)
            account(response.status_code, data.get("usage") if isinstance(data, dict) else None)
            return JSONResponse(
                data, status_code=response.status_code, headers={"X-Servplat-Variant": backend}
            )

        async def relay() -> AsyncIterator[bytes]:
            usage: dict[str, Any] | None = None
            pending = b""
            try:
                async for chunk in response.aiter_raw():
                    yield chunk  # byte for byte, as soon as it arrives
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        if line.startswith(b"data: {") and b'"usage"' in line:
                            usage = json.loads(line[6:]).get("usage") or usage
            finally:
                # Runs when the client disconnects too: closing the upstream response tells
                # the backend to stop generating.
                await response.aclose()
                account(200, usage)

        return StreamingResponse(
            relay(),
            media_type="text/event-stream",
            headers={"X-Servplat-Variant": backend, "Cache-Control": "no-cache"},
        )

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> Any:
        """OpenAI chat completions, routed by ``model`` and passed through."""
        return await relay_llm(request, "/v1/chat/completions")

    @app.post("/v1/completions", response_model=None)
    async def completions(request: Request) -> Any:
        """OpenAI completions, routed by ``model`` and passed through."""
        return await relay_llm(request, "/v1/completions")

    return app
