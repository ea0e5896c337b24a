"""The model server: one registry version behind ``POST /predict``, with ``/health`` and
Prometheus ``/metrics`` (request counts by status and latency histograms: what the canary
controller watches). The deployment starts one of these per version, as subprocesses.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import pandas as pd
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from aiinfra_shared.httpapi import safe_validation_errors
from aiinfra_shared.metrics import instrument_app, new_registry
from mlcicd import __version__
from mlcicd.data import FEATURES
from mlcicd.registry import Loaded

logger = logging.getLogger(__name__)
MAX_ROWS = 1000


class Applicant(BaseModel):
    """One loan application (the model's features)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    income: float = Field(ge=0, le=10_000, description="Yearly income, thousands")
    debt_ratio: float = Field(ge=0, le=5)
    age: float = Field(ge=18, le=120)
    employment_years: float = Field(ge=0, le=80)
    region: Literal["north", "south", "east", "west"]
    channel: Literal["web", "branch", "phone"]


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[Applicant] = Field(min_length=1, max_length=MAX_ROWS)


class PredictResponse(BaseModel):
    version: str = Field(description="The registry version that scored the rows")
    probabilities: list[float] = Field(description="Default probability per row, in order")


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    model: str


class Problem(BaseModel):
    detail: str


def create_app(loaded: Loaded) -> FastAPI:
    """The app for one loaded version."""
    app = FastAPI(
        title="mlcicd model server", version=__version__,
        summary="Loan default risk from one registered model version.",
    )  # fmt: skip
    safe_validation_errors(app)
    instrument_app(app, prefix="mlcicd", registry=new_registry())
    problems: dict[int | str, dict[str, Any]] = {
        400: {"model": Problem, "description": "The body is not JSON"},
    }

    @app.get("/health", response_model=Health)
    def health() -> Health:
        """The version being served."""
        return Health(status="ok", version=loaded.version, model=loaded.uri)

    @app.post(
        "/predict",
        response_model=PredictResponse,
        responses={**problems, 500: {"model": Problem, "description": "The model failed"}},
    )
    def predict(request: PredictRequest) -> Any:
        """Default probability for each application."""
        frame = pd.DataFrame([r.model_dump() for r in request.rows], columns=list(FEATURES))
        try:
            proba = np.asarray(loaded.model.predict_proba(frame)[:, 1], dtype=float)
        except Exception as exc:  # the model's own failure: counted as a 500 on /metrics
            logger.warning("version %s failed: %s", loaded.version, exc)
            return JSONResponse({"detail": f"model failed: {type(exc).__name__}"}, 500)
        if not np.all(np.isfinite(proba)):
            return JSONResponse({"detail": "model returned a non-finite probability"}, 500)
        return PredictResponse(version=loaded.version, probabilities=proba.tolist())

    return app
