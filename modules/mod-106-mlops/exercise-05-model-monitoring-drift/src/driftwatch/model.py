"""The model being monitored: a scikit-learn pipeline trained on the reference window.

It is deliberately ordinary (impute, scale, one-hot, logistic regression) so that what the
monitor sees comes from the data, not from a fragile model. Unknown categories are ignored and
missing values imputed, as a production pipeline must: the monitor, not a crash, reports them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from driftwatch.data import CATEGORICAL, FEATURES, NUMERICAL, TARGET, validate_frame


def train(reference: pd.DataFrame, *, seed: int = 0) -> Pipeline:
    """Fit the pipeline on the labelled reference window."""
    validate_frame(reference, source="reference", require_target=True)
    features = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                list(NUMERICAL),
            ),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                list(CATEGORICAL),
            ),
        ]
    )
    model = make_pipeline(features, LogisticRegression(max_iter=500, random_state=seed))
    model.fit(reference[list(FEATURES)], reference[TARGET])
    return model


def predict(model: Pipeline, frame: pd.DataFrame, *, threshold: float = 0.5) -> pd.DataFrame:
    """Scores and 0/1 predictions for every row of ``frame`` (index kept)."""
    validate_frame(frame, source="window")
    score = model.predict_proba(frame[list(FEATURES)])[:, 1]
    return pd.DataFrame(
        {"score": score, "prediction": (score >= threshold).astype(int)}, index=frame.index
    )


def accuracy(model: Pipeline, frame: pd.DataFrame) -> float:
    """Accuracy of ``model`` on a labelled frame."""
    predicted = predict(model, frame)["prediction"].to_numpy()
    return float(np.mean(predicted == frame[TARGET].to_numpy()))
