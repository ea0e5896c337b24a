"""Health, readiness, the route list, and the admin API (weights and breakers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from servplat.breaker import OPEN
from servplat.errors import ConfigError
from servplat.gateway.errors import GatewayError
from servplat.gateway.schemas import WeightsIn, errors
from servplat.gateway.state import GatewayState, get_state

router = APIRouter()
State = Annotated[GatewayState, Depends(get_state)]


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(state: State) -> dict[str, Any]:
    """Ready once started; routes whose every variant has an open breaker are *reported*.

    A readiness probe must not fail on a backend outage: every gateway pod would leave the
    Service at once, and the routes that still work would go down with the broken one.
    """
    down = [
        r.model
        for r in state.config.routes
        if all(
            state.breakers[b].state == OPEN
            for b, w in state.router.weights(r.model).items()
            if w > 0
        )
    ]
    return {"status": "degraded" if down else "ready", "routes_down": down}


@router.get("/v1/models")
def models(state: State) -> dict[str, Any]:
    """The routes clients can call."""
    data = [
        {
            "id": r.model,
            "object": "model",
            "owned_by": "servplat",
            "kind": state.config.backends[next(iter(r.variants))].kind,
        }
        for r in state.config.routes
    ]
    return {"object": "list", "data": data}


@router.get("/admin/routes", responses=errors(401, 403))
def routes(request: Request, state: State) -> list[dict[str, Any]]:
    """Routes with their current weights and their backends' breaker states (admin key)."""
    state.require_admin(request)
    return [
        {
            "model": r.model,
            "variants": state.router.weights(r.model),
            "sticky": r.sticky,
            "shadow": r.shadow,
            "batching": r.batching.model_dump() if r.batching else None,
            "breakers": {
                b: state.breakers[b].state for b in {*r.variants, *filter(None, [r.shadow])}
            },
        }
        for r in state.config.routes
    ]


@router.put("/admin/routes/{model}", responses=errors(400, 401, 403, 404))
def set_weights(model: str, body: WeightsIn, request: Request, state: State) -> dict[str, Any]:
    """New weights for a route (a canary step or a rollback; admin key)."""
    state.require_admin(request)
    if state.config.route(model) is None:
        raise GatewayError(404, f"no route {model!r}", param="model", code="model_not_found")
    try:
        return {"model": model, "variants": state.router.set_weights(model, body.variants)}
    except ConfigError as exc:
        raise GatewayError(400, str(exc), param="variants") from None
