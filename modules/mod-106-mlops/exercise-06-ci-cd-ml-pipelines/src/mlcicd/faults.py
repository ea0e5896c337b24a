"""Planted faults: model steps that make a version bad in production while it still scores
well offline. The deployment tests and the demo register such a version (as a hotfix that
skipped the gates would) and expect the canary to roll it back.

Each fault is a function for a ``FunctionTransformer`` placed first in the model pipeline, so
the version is an ordinary scikit-learn pipeline that MLflow saves and loads.
"""

from __future__ import annotations

import random
import time
from typing import Any

from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

#: seconds a ``slow`` model adds to every prediction call
SLOW_SECONDS = 0.45
#: share of prediction calls a ``flaky`` model fails
FLAKY_RATE = 0.5

_rng = random.Random()  # noqa: S311 - a planted fault, not security


def slow(frame: Any) -> Any:
    """Pass the rows through after a delay."""
    time.sleep(SLOW_SECONDS)
    return frame


def flaky(frame: Any) -> Any:
    """Fail about half the calls, as a model with a bad native dependency might."""
    if _rng.random() < FLAKY_RATE:
        raise RuntimeError("planted fault: the model failed on this call")
    return frame


FAULTS = {"slow": slow, "flaky": flaky}
#: what skops must be told to trust to load a faulty version (it refuses unknown callables)
TRUSTED = [f"{__name__}.{name}" for name in FAULTS]


def plant(model: Pipeline, fault: str) -> Pipeline:
    """A copy of ``model`` with ``fault`` as its first step."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; choose from {', '.join(FAULTS)}")
    return Pipeline([("fault", FunctionTransformer(FAULTS[fault])), *model.steps])
