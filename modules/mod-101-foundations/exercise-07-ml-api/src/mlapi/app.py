"""The FastAPI application: ``create_app()`` builds one, with its own metrics registry.

Routes:
    POST /v1/predict        one flower or ``{"instances": [...]}``; returns predictions
    GET  /v1/model          the served model's version and metrics
    POST /v1/model/reload   admin: re-read the model folder (``X-API-Key`` header)
    GET  /healthz           liveness: the process answers
    GET  /readyz            readiness: a model is loaded (503 otherwise)
    GET  /metrics           Prometheus metrics

Run it with ``mlapi serve`` or ``uvicorn mlapi.app:create_app --factory``.
"""

from __future__ import annotations

import gc
import logging
import math
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import numpy as np
import torch
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic_core import to_json

from aiinfra_shared.metrics import instrument_app, new_registry
from mlapi import __version__
from mlapi import model as model_lib
from mlapi.batching import LoopBatcher
from mlapi.config import MlapiSettings
from mlapi.data import CLASSES
from mlapi.errors import MlapiError
from mlapi.limits import BodySizeLimit
from mlapi.metrics import ApiMetrics
from mlapi.schemas import (
    Batch,
    Flower,
    ModelInfo,
    PredictResponse,
    ReloadResponse,
    Status,
)

logger = logging.getLogger(__name__)

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Admin API key")


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as strings (``"NaN"``, ``"Infinity"``) and anything
    JSON cannot hold as its ``str``, so an error body can always be sent."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def current_predictor(app: FastAPI) -> model_lib.Predictor:
    """The live predictor of ``app``.

    Raises:
        HTTPException: 503 when no model is loaded.
    """
    current: model_lib.Predictor | None = app.state.predictor
    if current is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"no model loaded: {app.state.load_error}",
        )
    return current


def require_admin(request: Request, key: Annotated[str | None, Depends(api_key_header)]) -> None:
    """Dependency: 401 without a key, 403 with a wrong one or when no key is configured."""
    settings: MlapiSettings = request.app.state.settings
    expected = settings.api_key.get_secret_value() if settings.api_key else None
    if not expected:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="admin API disabled: set MLAPI_API_KEY"
        )
    if key is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="missing X-API-Key header")
    if not secrets.compare_digest(key.encode(), expected.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="invalid API key")


async def get_predictor(request: Request) -> model_lib.Predictor:
    """Dependency: the live predictor, or 503 when no model is loaded.

    ``async`` on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, a hop
    per request that cost more than the model call (a quarter of the route's time under load,
    measured with cProfile).
    """
    return current_predictor(request.app)


Served = Annotated[model_lib.Predictor, Depends(get_predictor)]


def create_app(settings: MlapiSettings | None = None) -> FastAPI:
    """Build the app. The model is loaded at start-up; without one the app still starts,
    ``/readyz`` answers 503 and predictions are refused until a reload finds a model.

    Args:
        settings: Settings; read from the environment when omitted.

    Returns:
        The FastAPI application.
    """
    settings = settings or MlapiSettings()
    registry = new_registry()
    metrics = ApiMetrics(registry)
    batch_size, per_class = metrics.batch_size, metrics.per_class

    def observe_model_call(rows: int, seconds: float) -> None:
        metrics.inference.observe(seconds)
        metrics.model_batch.observe(rows)

    batcher = LoopBatcher(lambda: current_predictor(app), observe=observe_model_call)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        torch.set_num_threads(settings.torch_threads)
        app.state.predictor = None
        app.state.load_error = None
        try:
            app.state.predictor = model_lib.Predictor(model_lib.load(settings.model_dir))
            metrics.model_loaded.set(1)
            logger.info("serving model %s", app.state.predictor.model.version)
        except MlapiError as exc:
            app.state.load_error = str(exc)
            metrics.model_loaded.set(0)
            logger.warning("not ready: %s", exc)
        # Everything imported and loaded so far (torch alone is hundreds of thousands of
        # objects) lives as long as the process: freeze it out of the garbage collector, whose
        # full collections would otherwise walk it all and stall every request in flight.
        gc.collect()
        gc.freeze()
        yield

    app = FastAPI(
        title="mlapi",
        version=__version__,
        summary="Iris species classifier (a torch model the package trains itself).",
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # added last = outermost: requests refused by the size limit are counted too
    instrument_app(app, prefix="mlapi", registry=registry)
    app.state.settings = settings

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422 body, with every echoed input made JSON-safe: the default handler
        tries to echo a NaN or an Infinity back, cannot serialize it, and answers 500."""
        metrics.rejected.inc()
        return JSONResponse({"detail": json_safe(exc.errors())}, status_code=422)

    @app.get("/healthz", response_model=Status, tags=["ops"])
    async def healthz() -> Status:
        """Liveness: the process is up and answering."""
        return Status(status="ok")

    @app.get(
        "/readyz",
        response_model=Status,
        tags=["ops"],
        responses={503: {"model": Status, "description": "No model loaded"}},
    )
    async def readyz(request: Request) -> Status | JSONResponse:
        """Readiness: a model is loaded and predictions can be served."""
        current: model_lib.Predictor | None = request.app.state.predictor
        if current is None:
            body = Status(status="not ready", reason=request.app.state.load_error)
            return JSONResponse(body.model_dump(), status_code=503)
        return Status(status="ready", model_version=current.model.version)

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        tags=["model"],
        responses={
            400: {"description": "The body could not be parsed (not JSON, not UTF-8)"},
            413: {"description": "Body too large"},
            503: {"description": "No model"},
        },
    )
    async def predict(body: Flower | Batch) -> Response:
        """Predict the species of one flower, or of a batch (``{"instances": [...]}``).

        The model call takes about ten microseconds, so it runs on the event loop: a
        threadpool hop would cost more than the call, and torch in pool threads would not
        honour the single-thread setting made at start-up. Requests parsed in the same turn
        of the loop share one call (:class:`~mlapi.batching.LoopBatcher`). The answer is
        built as plain dicts and serialized once, in Rust (``pydantic_core.to_json``): pydantic
        models per prediction, validated and then encoded again by FastAPI, cost ten times
        that. ``response_model`` still documents the shape, and the tests validate answers
        against it.
        """
        # the app from this closure, not a `request` parameter or a dependency: FastAPI
        # solving either for every request costs more than the model call (5 us, measured)
        current_predictor(app)  # 503 before queueing when no model is loaded
        flowers = body.instances if isinstance(body, Batch) else [body]
        rows = np.asarray([f.as_row() for f in flowers], dtype=np.float32)
        version, probs = await batcher.predict_proba(rows)
        batch_size.observe(len(flowers))
        predictions = []
        for row in probs.tolist():
            class_id = row.index(max(row))  # the first of equal maxima, as numpy's argmax
            per_class[class_id].inc()
            predictions.append(
                {
                    "label": CLASSES[class_id],
                    "class_id": class_id,
                    "probabilities": {c: round(p, 6) for c, p in zip(CLASSES, row, strict=True)},
                }
            )
        answer = to_json({"model_version": version, "predictions": predictions})
        return Response(answer, media_type="application/json")

    if settings.bench_routes:

        @app.post("/bench/noop", include_in_schema=False)
        async def bench_noop(body: Flower | Batch) -> Response:
            """The same server, stack and request contract as /v1/predict (the body parsed and
            validated), minus the work: it answers a constant. What the prediction itself
            costs is measured against this. Registered right after it, so routing costs the
            two the same."""
            return Response(b"{}", media_type="application/json")

    @app.get(
        "/v1/model",
        response_model=ModelInfo,
        tags=["model"],
        responses={503: {"description": "No model"}},
    )
    async def model_info(served: Served) -> ModelInfo:
        """The served model's version, training date and accuracy."""
        meta = served.model.metadata
        return ModelInfo(
            model_version=meta.version,
            trained_at=meta.trained_at,
            train_accuracy=meta.train_accuracy,
            test_accuracy=meta.test_accuracy,
            features=list(meta.features),
            classes=list(meta.classes),
        )

    @app.post(
        "/v1/model/reload",
        response_model=ReloadResponse,
        tags=["admin"],
        dependencies=[Depends(require_admin)],
        responses={
            401: {"description": "Missing API key"},
            403: {"description": "Wrong API key, or admin API disabled"},
            409: {"description": "The model folder holds no valid model; the old one stays"},
        },
    )
    def reload_model(request: Request) -> ReloadResponse:
        """Re-read the model folder. A missing or broken model leaves the served one in place."""
        try:
            fresh = model_lib.load(settings.model_dir)
        except MlapiError as exc:
            metrics.reloads.labels("failed").inc()
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
        current: model_lib.Predictor | None = request.app.state.predictor
        previous = None
        if current is None:
            request.app.state.predictor = model_lib.Predictor(fresh)
        else:
            previous = current.swap(fresh).version
        request.app.state.load_error = None
        metrics.model_loaded.set(1)
        metrics.reloads.labels("ok").inc()
        logger.info("reloaded model %s (was %s)", fresh.version, previous)
        return ReloadResponse(
            previous_version=previous,
            model_version=fresh.version,
            changed=previous != fresh.version,
        )

    return app
