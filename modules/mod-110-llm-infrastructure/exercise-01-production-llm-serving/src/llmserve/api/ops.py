"""Health, readiness and the model list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from llmserve.api.state import ApiState, get_state
from llmserve.schemas import Ids

router = APIRouter()
State = Annotated[ApiState, Depends(get_state)]


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(state: State) -> JSONResponse:
    """Readiness: the engine is running and accepting requests."""
    stats = state.engine.stats()
    body = {
        "status": "ready" if stats.accepting else "not ready",
        "model": state.engine.name,
        "waiting": stats.waiting,
        "running": stats.running,
    }
    return JSONResponse(body, status_code=200 if stats.accepting else 503)


@router.get("/v1/models")
def models(state: State) -> dict[str, Any]:
    """The one model this server serves."""
    ids = Ids("model")
    return {
        "object": "list",
        "data": [
            {
                "id": state.engine.name,
                "object": "model",
                "created": ids.created,
                "owned_by": "llmserve",
            }
        ],
    }
