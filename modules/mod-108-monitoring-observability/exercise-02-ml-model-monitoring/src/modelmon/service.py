"""The instrumented model service (FastAPI).

``POST /predict`` scores a transaction and returns a ``prediction_id``; ``POST /feedback``
delivers its true label later (a chargeback, a review); ``GET /metrics`` is what Prometheus
scrapes; ``GET /healthz`` says whether the model is loaded. ``POST /admin/faults`` injects
latency and errors, only when the service was started with ``MODELMON_FAULTS=true``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import uuid
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from aiinfra_shared.apidocs import document_framework_errors
from aiinfra_shared.httpapi import safe_validation_errors
from aiinfra_shared.jsontypes import JsonBool, JsonFloat, NumberOnly
from aiinfra_shared.metrics import instrument_app, new_registry, observe_time
from modelmon.config import ModelmonSettings
from modelmon.metrics import ModelMetrics, OnlineStats
from modelmon.model import FEATURES, FraudModel, train

logger = logging.getLogger(__name__)


class Transaction(BaseModel):
    """One transaction to score. Every number finite and bounded: ``1e400`` and ``Infinity``
    (which Python's JSON parser reads) are refused, or the feature statistics of the whole
    window would become ``+Inf`` and ``NaN``; ``false`` or ``"5"`` are not numbers."""

    model_config = ConfigDict(extra="forbid")

    amount: Annotated[JsonFloat, Field(ge=0, le=1e9, description="Amount.")]
    account_age_days: Annotated[JsonFloat, Field(ge=0, le=36_500)]
    txn_last_hour: Annotated[
        int,
        Field(ge=0, le=100_000, description="Transactions on the account, last hour."),
        NumberOnly,
    ]
    hour: Annotated[int, Field(ge=0, le=23, description="Hour of day (0-23)."), NumberOnly]


class Prediction(BaseModel):
    """The answer to ``POST /predict``."""

    prediction_id: str
    fraud_score: float
    is_fraud: bool
    model_version: str


class Feedback(BaseModel):
    """A delayed ground-truth label."""

    model_config = ConfigDict(extra="forbid")

    prediction_id: str = Field(min_length=1, max_length=200)
    is_fraud: JsonBool


class Faults(BaseModel):
    """Injected degradation: extra latency and a share of failing requests."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: Annotated[JsonFloat, Field(ge=0, le=10_000)] = 0.0
    error_rate: Annotated[JsonFloat, Field(ge=0, le=1)] = 0.0


def create_app(
    settings: ModelmonSettings | None = None, model: FraudModel | None = None
) -> FastAPI:
    """Build the app: train (or take) the model, wire the metrics.

    Args:
        settings: Service settings (environment by default).
        model: A trained model; trained from ``settings.seed`` when None.
    """
    settings = settings or ModelmonSettings()
    model = model or train(version=settings.model_version, seed=settings.seed)
    registry = new_registry()
    stats = OnlineStats(settings.window, settings.pending_limit)
    metrics = ModelMetrics(registry, model, stats)
    faults = Faults()
    version = model.version

    app = FastAPI(title="modelmon", version=version)
    instrument_app(app, prefix="modelmon", registry=registry)
    app.state.stats = stats
    app.state.model = model

    def count_invalid(request: Request) -> None:
        if request.url.path == "/predict":
            metrics.errors.labels("validation").inc()

    # FastAPI's 422 shape without echoing the input (a NaN cannot be sent back as JSON)
    safe_validation_errors(app, count_invalid)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "model_version": version, "features": list(FEATURES)}

    @app.post("/predict", responses={503: {"description": "An injected fault (MODELMON_FAULTS)"}})
    async def predict(txn: Transaction) -> Prediction:
        with observe_time(metrics.latency, model_version=version):
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            if faults.error_rate and random.random() < faults.error_rate:  # noqa: S311
                metrics.errors.labels("injected").inc()
                raise HTTPException(503, "injected fault (POST /admin/faults)")
            row = np.array([[getattr(txn, f) for f in FEATURES]], dtype=float)
            score = float(model.score(row)[0])
            if not math.isfinite(score):
                metrics.errors.labels("model").inc()
                raise HTTPException(500, "the model returned a non-finite score")
        predicted = int(score >= 0.5)
        prediction_id = uuid.uuid4().hex
        stats.record_prediction(prediction_id, row[0], predicted)
        metrics.predictions.labels(version, str(predicted)).inc()
        metrics.score.labels(version).observe(score)
        return Prediction(
            prediction_id=prediction_id,
            fraud_score=round(score, 6),
            is_fraud=bool(predicted),
            model_version=version,
        )

    @app.post("/feedback", responses={404: {"description": "No pending prediction of that id"}})
    async def feedback(item: Feedback) -> dict[str, Any]:
        joined = stats.record_label(item.prediction_id, int(item.is_fraud))
        if joined is None:
            metrics.feedback.labels("unknown_id").inc()
            raise HTTPException(404, f"no pending prediction {item.prediction_id!r}")
        correct, delay = joined
        metrics.feedback.labels("correct" if correct else "wrong").inc()
        metrics.feedback_delay.observe(delay)
        return {"prediction_id": item.prediction_id, "correct": correct}

    @app.post("/admin/faults", responses={403: {"description": "Fault injection is off"}})
    async def set_faults(new: Faults) -> Faults:
        if not settings.faults:
            raise HTTPException(403, "fault injection is off; start with MODELMON_FAULTS=true")
        faults.latency_ms, faults.error_rate = new.latency_ms, new.error_rate
        logger.warning("faults now: %s", new)
        return faults

    document_framework_errors(app)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory modelmon.service:app_from_env``."""
    return create_app()
