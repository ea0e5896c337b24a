"""Evaluation on the holdout the model never saw, and the production-readiness checklist.

Every check measures something (no check passes by default): quality against thresholds,
against a majority-class guess (balanced accuracy 0.5), the gap between cross-validation and
holdout (over-fitting), single-row latency, serialized size, finite probabilities, and a row
with a missing optional value.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline

from e2epipe.config import Thresholds
from e2epipe.train import Candidate, split_xy


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    name: str
    passed: bool
    evidence: str


@dataclass
class Evaluation:
    """Holdout metrics, the confusion matrix and the checklist."""

    metrics: dict[str, float]
    confusion: list[list[int]]
    checks: list[Check]

    @property
    def ready(self) -> bool:
        """True when every check passed."""
        return all(c.passed for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly."""
        return {
            "metrics": self.metrics,
            "confusion_matrix": self.confusion,
            "checks": [asdict(c) for c in self.checks],
            "ready": self.ready,
        }


def holdout_metrics(
    model: Pipeline, holdout: pd.DataFrame
) -> tuple[dict[str, float], list[list[int]]]:
    """Accuracy, precision, recall, F1, ROC AUC and the confusion matrix on ``holdout``."""
    x, y = split_xy(holdout)
    proba = model.predict_proba(x)[:, 1]
    predicted = (proba >= 0.5).astype(int)
    metrics = {
        "accuracy": float(accuracy_score(y, predicted)),
        "precision": float(precision_score(y, predicted, zero_division=0)),
        "recall": float(recall_score(y, predicted, zero_division=0)),
        "f1": float(f1_score(y, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(y, proba)),
        "balanced_accuracy": float(balanced_accuracy_score(y, predicted)),
        "majority_class_accuracy": float(max(y.mean(), 1 - y.mean())),
    }
    return metrics, confusion_matrix(y, predicted, labels=[0, 1]).tolist()


def latency_p95_ms(model: Pipeline, holdout: pd.DataFrame, rows: int = 100) -> float:
    """p95 of single-row predictions (what one API call costs the model)."""
    x, _ = split_xy(holdout)
    samples = []
    for i in range(min(rows, len(x))):
        row = x.iloc[[i]]
        started = time.perf_counter()
        model.predict_proba(row)
        samples.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(samples, 95))


def evaluate(best: Candidate, holdout: pd.DataFrame, thresholds: Thresholds) -> Evaluation:
    """Measure ``best`` on the holdout and run the checklist."""
    model = best.pipeline
    metrics, confusion = holdout_metrics(model, holdout)
    gap = best.cv_roc_auc - metrics["roc_auc"]
    size_mb = len(pickle.dumps(model)) / 1e6
    p95 = latency_p95_ms(model, holdout)
    x, _ = split_xy(holdout)
    proba = model.predict_proba(x)[:, 1]
    with_null = x.iloc[[0]].copy()
    with_null["total_charges"] = np.nan
    null_proba = model.predict_proba(with_null)[:, 1]
    metrics.update({"p95_latency_ms": p95, "model_mb": size_mb, "cv_holdout_gap": gap})
    checks = [
        Check(
            "roc_auc",
            metrics["roc_auc"] >= thresholds.min_roc_auc,
            f"holdout ROC AUC {metrics['roc_auc']:.3f} (min {thresholds.min_roc_auc})",
        ),
        Check(
            "f1",
            metrics["f1"] >= thresholds.min_f1,
            f"holdout F1 {metrics['f1']:.3f} (min {thresholds.min_f1})",
        ),
        Check(
            "beats_baseline",
            metrics["balanced_accuracy"] >= thresholds.min_balanced_accuracy,
            f"balanced accuracy {metrics['balanced_accuracy']:.3f} (a majority-class guess "
            f"scores 0.5; min {thresholds.min_balanced_accuracy})",
        ),
        Check(
            "no_overfitting",
            gap <= thresholds.max_cv_holdout_gap,
            f"CV ROC AUC {best.cv_roc_auc:.3f} - holdout {metrics['roc_auc']:.3f} = {gap:.3f} "
            f"(max {thresholds.max_cv_holdout_gap})",
        ),
        Check(
            "latency",
            p95 <= thresholds.max_p95_latency_ms,
            f"p95 single-row prediction {p95:.2f} ms (max {thresholds.max_p95_latency_ms} ms)",
        ),
        Check(
            "size",
            size_mb <= thresholds.max_model_mb,
            f"pickled pipeline {size_mb * 1000:.0f} kB (max {thresholds.max_model_mb} MB)",
        ),
        Check(
            "finite_probabilities",
            bool(np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))),
            f"{len(proba)} holdout probabilities in [0, 1]",
        ),
        Check(
            "handles_missing_optional",
            bool(np.isfinite(null_proba).all()),
            f"a row without total_charges -> {float(null_proba[0]):.3f}",
        ),
    ]
    return Evaluation(metrics=metrics, confusion=confusion, checks=checks)


def plot_confusion(confusion: list[list[int]], path: Path, title: str) -> Path:
    """The confusion matrix as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(confusion, cmap="Blues")
    for i in range(2):
        for j in range(2):
            ax.text(j, i, str(confusion[i][j]), ha="center", va="center", fontsize=13)
    ax.set_xticks([0, 1], ["stays", "churns"])
    ax.set_yticks([0, 1], ["stays", "churns"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
