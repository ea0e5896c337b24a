"""The serving stage: FastAPI over the registry's champion.

Routes:
    POST /predict   1..N customers -> churn probability per customer (the model version too)
    POST /reload    load the champion again, or a given version; if it fails to load, the
                    answer is 409 and the model already serving keeps serving
    GET  /health    200 with the served version, 503 while no model is loaded
    GET  /metrics   Prometheus metrics

Reloading swaps one reference: a request in flight finishes on the model it started with.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import pandas as pd
from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from prometheus_client import Counter, Gauge
from pydantic import BaseModel, ConfigDict, Field, field_validator

from aiinfra_shared.httpapi import safe_validation_errors
from aiinfra_shared.metrics import instrument_app, new_registry
from e2epipe import __version__, registry
from e2epipe.config import Settings
from e2epipe.data import CONTRACTS, FEATURES, PAYMENTS
from e2epipe.errors import E2epipeError

logger = logging.getLogger(__name__)

Contract = Literal["month-to-month", "one-year", "two-year"]
Payment = Literal["card", "bank-transfer", "electronic-check", "mailed-check"]
assert set(Contract.__args__) == set(CONTRACTS)  # type: ignore[attr-defined]
assert set(Payment.__args__) == set(PAYMENTS)  # type: ignore[attr-defined]


class Customer(BaseModel):
    """One customer, with the same ranges the training data was validated against.

    Numbers must be JSON numbers: ``true`` is not a count of support calls and ``"3"`` is not
    a tenure (pydantic's lax mode would take both), while ``58.0`` is the integer 58 as JSON
    Schema says."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    tenure_months: int = Field(ge=0, le=72)
    monthly_charges: float = Field(ge=10, le=200)
    total_charges: float | None = Field(default=None, ge=0, le=20_000)
    contract: Contract
    payment_method: Payment
    support_calls: int = Field(ge=0, le=30)
    age: int = Field(ge=18, le=100)

    @field_validator(
        "tenure_months", "monthly_charges", "total_charges", "support_calls", "age", mode="before"
    )
    @classmethod
    def _json_number(cls, value: object) -> object:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError("must be a JSON number")
        return value


class PredictRequest(BaseModel):
    """A batch of customers."""

    model_config = ConfigDict(extra="forbid")

    rows: list[Customer] = Field(min_length=1, max_length=1000)


class Prediction(BaseModel):
    """One answer."""

    churn_probability: float
    churn: bool


class PredictResponse(BaseModel):
    """The answers, in the order of the rows, and the version that gave them."""

    model_version: str
    predictions: list[Prediction]


class ReloadRequest(BaseModel):
    """Which version to serve (none: the current champion)."""

    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(default=None, pattern=r"^[1-9][0-9]{0,8}$")


class ReloadResponse(BaseModel):
    """What is served now."""

    model_version: str
    previous_version: str | None


class Health(BaseModel):
    """Liveness plus what is served."""

    status: str
    model_version: str | None = None
    reason: str | None = None


class Problem(BaseModel):
    """An error."""

    detail: str


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the champion is loaded at start-up (no champion: 503 until a reload)."""
    settings = settings or Settings()
    metrics_registry = new_registry()
    predictions = Counter(
        "e2epipe_predictions_total", "Customers scored.", registry=metrics_registry
    )
    reloads = Counter(
        "e2epipe_model_reloads_total", "Reload attempts by result.", ("result",),
        registry=metrics_registry,
    )  # fmt: skip
    served = Gauge(
        "e2epipe_model_version", "The registry version being served (0: none).",
        registry=metrics_registry,
    )  # fmt: skip
    lock = threading.Lock()

    def install(loaded: registry.Loaded) -> None:
        app.state.loaded = loaded
        served.set(int(loaded.version))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.loaded = None
        app.state.load_error = None
        try:
            install(registry.load(settings, settings.model_version))
            logger.info("serving %s", app.state.loaded.uri)
        except E2epipeError as exc:
            app.state.load_error = str(exc)
            logger.warning("no model: %s", exc)
        yield

    app = FastAPI(
        title="e2epipe",
        version=__version__,
        summary="Customer churn scoring: the registry's champion model.",
        lifespan=lifespan,
    )
    safe_validation_errors(app)
    instrument_app(app, prefix="e2epipe", registry=metrics_registry)

    def current(request: Request) -> registry.Loaded:
        loaded: registry.Loaded | None = request.app.state.loaded
        if loaded is None:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                detail=f"no model loaded: {request.app.state.load_error}",
            )
        return loaded

    unparsable: dict[int | str, dict[str, Any]] = {
        400: {"model": Problem, "description": "The body is not JSON (or not UTF-8)"}
    }
    no_model: dict[int | str, dict[str, Any]] = {
        **unparsable,
        503: {"model": Problem, "description": "No model is loaded"},
    }

    @app.get(
        "/health",
        response_model=Health,
        responses={503: {"model": Health, "description": "No model is loaded"}},
    )
    def health(request: Request) -> Health | JSONResponse:
        """The process answers; 200 once a model is served."""
        loaded: registry.Loaded | None = request.app.state.loaded
        if loaded is None:
            body = Health(status="no model", reason=request.app.state.load_error)
            return JSONResponse(body.model_dump(), status_code=503)
        return Health(status="ok", model_version=loaded.version)

    @app.post("/predict", response_model=PredictResponse, responses=no_model)
    def predict(body: PredictRequest, request: Request) -> PredictResponse:
        """Churn probability per customer (threshold 0.5 for ``churn``)."""
        loaded = current(request)
        frame = pd.DataFrame([row.model_dump() for row in body.rows], columns=list(FEATURES))
        frame["total_charges"] = frame["total_charges"].astype(float)
        proba = loaded.model.predict_proba(frame)[:, 1]
        predictions.inc(len(body.rows))
        return PredictResponse(
            model_version=loaded.version,
            predictions=[
                Prediction(churn_probability=round(float(p), 6), churn=bool(p >= 0.5))
                for p in proba
            ],
        )

    @app.post(
        "/reload",
        response_model=ReloadResponse,
        responses={
            **unparsable,
            409: {"model": Problem, "description": "That version does not exist or load"},
        },
    )
    def reload(body: ReloadRequest, request: Request) -> ReloadResponse:
        """Serve the champion again (after a new run) or an explicit version (a rollback)."""
        with lock:
            previous: registry.Loaded | None = request.app.state.loaded
            try:
                loaded = registry.load(settings, body.version)
            except E2epipeError as exc:
                reloads.labels("failed").inc()
                logger.warning("reload refused, still serving %s: %s",
                               previous.version if previous else "nothing", exc)  # fmt: skip
                raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
            install(loaded)
            request.app.state.load_error = None
            reloads.labels("ok").inc()
            return ReloadResponse(
                model_version=loaded.version,
                previous_version=previous.version if previous else None,
            )

    return app


def app_from_env() -> FastAPI:
    """``uvicorn e2epipe.server:app_from_env --factory`` (settings from E2EPIPE_*)."""
    return create_app(Settings())
