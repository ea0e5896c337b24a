"""``POST /v1/predict``: classic models, through the route's split, breaker, batcher and
shadow."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode

from servplat.errors import BackendError
from servplat.gateway.errors import GatewayError
from servplat.gateway.schemas import PredictBody, PredictIn, errors
from servplat.gateway.state import GatewayState, get_state

router = APIRouter()
State = Annotated[GatewayState, Depends(get_state)]


@router.post("/v1/predict", responses=errors(400, 404, 422, 502, 503, 504))
async def predict(request_body: PredictBody, request: Request, state: State) -> JSONResponse:
    """Score one applicant or a batch on the route's assigned variant.

    A failed call is retried once on another variant whose breaker lets it through; the
    answer says which variant served it and whether that was a fallback.
    """
    body = PredictIn.model_validate(request_body.model_dump())
    route = state.route_of(body.model, "classic")
    user = body.user or request.headers.get("x-user-id")
    started = time.perf_counter()
    parent = propagate.extract(dict(request.headers))
    with state.tracer.start_as_current_span(
        f"predict {route.model}", context=parent, kind=SpanKind.SERVER
    ) as span:
        backend, fallback = state.assign(route, user)
        try:
            served = await state.predict_on(route, backend, body)
        except BackendError as first:
            # Stop at the first variant whose breaker lets a request through (asking a
            # half-open breaker takes its trial slot).
            retry = next(
                (
                    n
                    for n, w in state.router.weights(route.model).items()
                    if n != backend and w > 0 and state.breakers[n].allow()
                ),
                None,
            )
            if retry is None:
                status = 504 if first.timeout else 502
                state.metrics.requests.labels(route.model, backend, str(status)).inc()
                span.set_status(Status(StatusCode.ERROR, str(first)))
                raise GatewayError(
                    status,
                    str(first),
                    "backend_error",
                    code="timeout" if first.timeout else "backend_failed",
                ) from None
            backend, fallback = retry, True
            served = await state.predict_on(route, backend, body)
        span.set_attributes(
            {
                "servplat.route": route.model,
                "servplat.variant": backend,
                "servplat.fallback": fallback,
                "servplat.user": user or "",
            }
        )
    elapsed = time.perf_counter() - started
    metrics = state.metrics
    if fallback:
        metrics.fallbacks.labels(route.model).inc()
    if route.shadow and route.shadow != backend:
        state.mirror(route, body, served)
    cost = state.config.backends[backend].price_per_1k * len(served) / 1000
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
