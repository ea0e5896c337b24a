"""Preprocessing and feature engineering as one sklearn pipeline (fitted on training rows only,
so nothing of the holdout leaks into imputation, scaling or selection).

::

    numeric ──> median impute ──> scale ──> polynomial + interaction terms ─┐
    categorical ──> most-frequent impute ──> one-hot (unknown ignored) ─────┴─> SelectKBest ──> PCA
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler

from e2epipe.config import FeatureParams
from e2epipe.data import CATEGORICAL, NUMERIC


def preprocessor(params: FeatureParams) -> ColumnTransformer:
    """Impute, scale, expand (polynomial terms) and encode the raw columns."""
    numeric_steps: list[tuple[str, object]] = [
        ("impute", SimpleImputer(strategy="median")),
        ("scale", StandardScaler()),
    ]
    if params.polynomial_degree > 1:
        numeric_steps.append(
            (
                "poly",
                PolynomialFeatures(
                    degree=params.polynomial_degree,
                    interaction_only=params.interaction_only,
                    include_bias=False,
                ),
            )
        )
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    return ColumnTransformer(
        [
            ("numeric", Pipeline(numeric_steps), list(NUMERIC)),
            ("categorical", categorical, list(CATEGORICAL)),
        ],
        verbose_feature_names_out=False,
    )


def feature_pipeline(params: FeatureParams) -> list[tuple[str, object]]:
    """The feature steps of the model pipeline (the estimator is appended by training)."""
    steps: list[tuple[str, object]] = [("prep", preprocessor(params))]
    if params.select_k:
        steps.append(("select", SelectKBest(f_classif, k=params.select_k)))
    if params.pca_components:
        steps.append(("pca", PCA(n_components=params.pca_components, random_state=0)))
    return steps


def feature_count(params: FeatureParams) -> int:
    """How many raw features the preprocessor makes (before selection/PCA)."""
    numeric = len(NUMERIC)
    if params.polynomial_degree > 1:
        from math import comb

        if params.interaction_only:
            numeric = sum(comb(len(NUMERIC), d) for d in range(1, params.polynomial_degree + 1))
        else:
            numeric = comb(len(NUMERIC) + params.polynomial_degree, params.polynomial_degree) - 1
    from e2epipe.data import SCHEMA

    onehot = sum(len(c.allowed) for c in SCHEMA if c.kind == "category")
    return numeric + onehot
