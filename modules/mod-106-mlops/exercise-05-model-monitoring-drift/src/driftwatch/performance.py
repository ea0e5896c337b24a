"""Model performance when labels arrive late: join predictions with the labels seen so far.

A prediction is made at once; its true label (did the applicant default?) arrives later, or
never. :class:`PredictionLog` keeps every prediction by id. Labels are added as they arrive
(:meth:`PredictionLog.add_labels`), and :meth:`PredictionLog.performance` scores the
predictions that have a label at that moment, with the coverage that says how much of the
window the figure rests on. Labels for unknown ids are counted, not silently dropped; a second
label for the same id replaces the first (a corrected label).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from driftwatch.errors import DataError


@dataclass(frozen=True)
class Performance:
    """Scores over the labelled predictions of some windows.

    Attributes:
        predictions: Predictions considered.
        labelled: How many of them have a label by now.
        coverage: ``labelled / predictions``.
        accuracy, precision, recall, f1: Over the labelled ones (None when there are none).
    """

    predictions: int
    labelled: int
    coverage: float
    accuracy: float | None
    precision: float | None
    recall: float | None
    f1: float | None


class PredictionLog:
    """Predictions by id, the labels that arrived for them, and the window they belong to."""

    def __init__(self) -> None:
        self._pred = pd.DataFrame(
            {
                "window": pd.Series(dtype="int64"),
                "prediction": pd.Series(dtype="int64"),
                "label": pd.Series(dtype="float64"),
            }
        )
        self._pred.index.name = "prediction_id"
        self.orphan_labels = 0

    def __len__(self) -> int:
        return len(self._pred)

    def add_predictions(self, window: int, ids: pd.Series, predictions: pd.Series) -> None:
        """Record one window's predictions.

        Raises:
            DataError: An id is repeated or was already logged (its label could not be joined
                unambiguously).
        """
        if len(ids) != len(predictions):
            raise DataError("ids and predictions differ in length")
        index = pd.Index(ids.astype(str), name="prediction_id")
        if index.has_duplicates or index.isin(self._pred.index).any():
            raise DataError(f"window {window}: prediction ids must be unique across windows")
        new = pd.DataFrame(
            {
                "window": window,
                "prediction": np.asarray(predictions, dtype="int64"),
                "label": np.nan,
            },
            index=index,
        )
        self._pred = pd.concat([self._pred, new]) if len(self._pred) else new

    def add_labels(self, ids: pd.Series, labels: pd.Series) -> int:
        """Join arrived labels onto their predictions; returns how many matched.

        Raises:
            DataError: A label is not 0 or 1.
        """
        values = pd.to_numeric(pd.Series(np.asarray(labels)), errors="coerce")
        if values.isna().any() or not values.isin([0, 1]).all():
            raise DataError("labels must be 0 or 1")
        arrived = pd.Series(values.to_numpy(), index=pd.Index(ids.astype(str)))
        arrived = arrived[~arrived.index.duplicated(keep="last")]
        known = arrived.index.isin(self._pred.index)
        self.orphan_labels += int((~known).sum())
        matched = arrived[known]
        self._pred.loc[matched.index, "label"] = matched.to_numpy(dtype="float64")
        return int(known.sum())

    def performance(self, windows: list[int] | None = None) -> Performance:
        """Scores over the labelled predictions of ``windows`` (all windows when None)."""
        frame = self._pred if windows is None else self._pred[self._pred["window"].isin(windows)]
        labelled = frame.dropna(subset=["label"])
        n, k = len(frame), len(labelled)
        if k == 0:
            return Performance(n, 0, 0.0, None, None, None, None)
        y_true = labelled["label"].astype(int).to_numpy()
        y_pred = labelled["prediction"].astype(int).to_numpy()
        return Performance(
            predictions=n,
            labelled=k,
            coverage=k / n,
            accuracy=float(accuracy_score(y_true, y_pred)),
            precision=float(precision_score(y_true, y_pred, zero_division=0)),
            recall=float(recall_score(y_true, y_pred, zero_division=0)),
            f1=float(f1_score(y_true, y_pred, zero_division=0)),
        )
