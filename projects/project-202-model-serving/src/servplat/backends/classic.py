"""A classic model server: a loan-default scorer, in two versions, for A/B tests.

Both versions learn the same generated data (``dataset``): five features of a loan applicant
and whether they defaulted. The risk has interactions (high debt *and* late payments; young
*and* indebted), which a logistic regression (v1) cannot represent and gradient-boosted trees
(v2) can: v2 scores better on held-out data (ROC AUC 0.742 against 0.717), and the two disagree
on some applicants, which is what an A/B test and shadow traffic are for.

``POST /v1/predict`` takes a batch (``{"instances": [[...5 numbers], ...]}``), which is what the
gateway's micro-batcher sends. ``delay_ms`` makes every call slower on purpose (fault
injection, for timeout and breaker experiments).
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from aiinfra_shared.apidocs import document_framework_errors
from aiinfra_shared.jsontypes import JsonFloat
from servplat.backends import flushing, instrument
from servplat.telemetry import tracer_provider

FEATURES = ("income_k", "debt_ratio", "age", "late_payments", "tenure_years")
VERSIONS = ("v1", "v2")


def dataset(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` generated applicants (features in :data:`FEATURES` order) and their outcome."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(mean=4.0, sigma=0.5, size=n)  # thousands a year
    debt = rng.beta(2.0, 3.0, size=n)
    age = rng.uniform(21, 75, size=n)
    late = rng.poisson(0.8, size=n).astype(float)
    tenure = rng.exponential(4.0, size=n)
    logit = (
        -2.6
        + 1.2 * debt
        + 0.3 * late
        - 0.01 * income
        - 0.05 * tenure
        + 3.0 * ((debt > 0.55) & (late >= 2))
        + 1.5 * ((age < 28) & (debt > 0.5))
    )
    outcome = rng.random(n) < 1 / (1 + np.exp(-logit))
    return np.column_stack([income, debt, age, late, tenure]), outcome.astype(int)


@lru_cache(maxsize=2)
def train(version: str) -> tuple[Any, float]:
    """The fitted model of ``version`` and its ROC AUC on held-out data (deterministic)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = dataset(20000, seed=1)
    x_test, y_test = dataset(5000, seed=2)
    if version == "v1":
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    elif version == "v2":
        model = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_depth=3, min_samples_leaf=50, random_state=0
        )
    else:
        raise ValueError(f"unknown version {version!r}; choose one of {', '.join(VERSIONS)}")
    model.fit(x, y)
    return model, float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))


#: One applicant: a finite number per feature, in FEATURES order (the schema says so).
#: Bounded so every value fits the float32 the boosted trees convert to (1e308 became inf).
Value = Annotated[JsonFloat, Field(ge=-1e9, le=1e9)]
Row = Annotated[
    list[Value],
    Field(min_length=len(FEATURES), max_length=len(FEATURES),
          description=f"{len(FEATURES)} values: {', '.join(FEATURES)}"),
]  # fmt: skip


class PredictIn(BaseModel):
    """A batch of applicants."""

    model_config = ConfigDict(extra="forbid")

    instances: list[Row] = Field(min_length=1, max_length=1024)


def create_app(version: str, *, delay_ms: float = 0.0) -> FastAPI:
    """The scorer of ``version``, trained at start-up (about a second).

    Prediction runs on one thread. Boosted trees predict with OpenMP, whose threads spin at
    barriers: on cores shared with other busy processes, a v2 call measured 700 ms instead of
    39 ms with one thread. threadpoolctl limits only the thread pools already loaded, so the
    limit comes after training has loaded scikit-learn's OpenMP runtime.
    """
    from threadpoolctl import threadpool_limits

    model, auc = train(version)
    threadpool_limits(1)
    provider = tracer_provider(f"servplat-scorer-{version}")
    app = FastAPI(title=f"scorer {version}", lifespan=flushing(provider))
    instrument(app, provider)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    @app.get("/v1/info")
    def info() -> dict[str, Any]:
        """Version, features and held-out AUC."""
        return {"version": version, "features": list(FEATURES), "auc": round(auc, 4)}

    @app.post("/v1/predict", responses={422: {"description": "Not a batch of applicants."}})
    async def predict(body: PredictIn) -> dict[str, Any]:
        """Default probability and label (>= 0.5) for each instance."""
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        probabilities = model.predict_proba(np.asarray(body.instances))[:, 1]
        return {
            "version": version,
            "predictions": [
                {"probability": round(float(p), 6), "label": int(p >= 0.5)} for p in probabilities
            ],
        }

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Any, exc: RequestValidationError) -> JSONResponse:
        """422 with one readable sentence per problem (the gateway relays it to callers)."""
        problems = []
        for err in exc.errors():
            loc = [p for p in err.get("loc", ()) if p != "body"]
            if len(loc) >= 2 and loc[0] == "instances" and err["type"] in ("too_short", "too_long"):
                got = len(err.get("input") or [])
                problems.append(f"instance {loc[1]} has {got} values; expected "
                                f"{len(FEATURES)}: {', '.join(FEATURES)}")  # fmt: skip
            else:
                where = ".".join(str(p) for p in loc) or "body"
                problems.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(problems)}, status_code=422)

    document_framework_errors(app)
    return app
