"""Training: three model families, each with a cross-validated grid search over its
hyperparameters, on the same feature pipeline; the best cross-validated ROC AUC wins.

Churners are the minority class (about a quarter): logistic regression and the random forest
weight classes inversely to their frequency (``class_weight="balanced"``), so a 0.5 threshold
does not trade all recall for accuracy."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from e2epipe.config import ModelName, Params
from e2epipe.data import FEATURES
from e2epipe.errors import E2epipeError
from e2epipe.features import feature_count, feature_pipeline

logger = logging.getLogger(__name__)

#: (estimator, full grid, quick grid) per model family; grid keys address the "model" step.
CANDIDATES: dict[str, tuple[Callable[[int], Any], dict[str, list[Any]], dict[str, list[Any]]]] = {
    "logistic_regression": (
        lambda seed: LogisticRegression(max_iter=2000, class_weight="balanced", random_state=seed),
        {"model__C": [0.1, 1.0, 10.0]},
        {"model__C": [1.0]},
    ),
    "random_forest": (
        lambda seed: RandomForestClassifier(
            n_estimators=150, class_weight="balanced", random_state=seed, n_jobs=1
        ),
        {"model__max_depth": [6, 12], "model__min_samples_leaf": [1, 5]},
        {"model__max_depth": [8], "model__min_samples_leaf": [5], "model__n_estimators": [60]},
    ),
    "gradient_boosting": (
        lambda seed: GradientBoostingClassifier(n_estimators=100, random_state=seed),
        {"model__learning_rate": [0.05, 0.1], "model__max_depth": [2, 3]},
        {"model__learning_rate": [0.1], "model__max_depth": [2], "model__n_estimators": [60]},
    ),
}


@dataclass
class Candidate:
    """One model family's search result."""

    name: str
    best_params: dict[str, Any]
    cv_roc_auc: float
    cv_std: float
    fit_seconds: float
    pipeline: Pipeline


def split_xy(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The feature columns and the label of a validated table."""
    return frame[list(FEATURES)], frame["churned"].to_numpy()


def search(name: ModelName, x: pd.DataFrame, y: np.ndarray, params: Params) -> Candidate:
    """Grid-search one model family with stratified k-fold CV (ROC AUC)."""
    factory, grid, quick_grid = CANDIDATES[name]
    if params.features.select_k and params.features.select_k > feature_count(params.features):
        raise E2epipeError(
            f"features.select_k={params.features.select_k} is more than the "
            f"{feature_count(params.features)} features the preprocessor makes"
        )
    pipeline = Pipeline([*feature_pipeline(params.features), ("model", factory(params.seed))])
    folds = StratifiedKFold(params.cv_folds, shuffle=True, random_state=params.seed)
    started = time.perf_counter()
    grid_search = GridSearchCV(
        pipeline,
        quick_grid if params.quick else grid,
        cv=folds,
        scoring="roc_auc",
        n_jobs=1,
        refit=True,
        error_score="raise",
    )
    grid_search.fit(x, y)
    index = grid_search.best_index_
    return Candidate(
        name=name,
        best_params={k.removeprefix("model__"): v for k, v in grid_search.best_params_.items()},
        cv_roc_auc=float(grid_search.best_score_),
        cv_std=float(grid_search.cv_results_["std_test_score"][index]),
        fit_seconds=time.perf_counter() - started,
        pipeline=grid_search.best_estimator_,
    )


def train_all(
    train: pd.DataFrame,
    params: Params,
    on_done: Callable[[Candidate], None] | None = None,
) -> list[Candidate]:
    """Search every configured family; best (highest CV ROC AUC) first."""
    x, y = split_xy(train)
    results = []
    for name in params.models:
        candidate = search(name, x, y, params)
        logger.info("%s: CV ROC AUC %.4f", name, candidate.cv_roc_auc)
        results.append(candidate)
        if on_done:
            on_done(candidate)
    return sorted(results, key=lambda c: c.cv_roc_auc, reverse=True)
