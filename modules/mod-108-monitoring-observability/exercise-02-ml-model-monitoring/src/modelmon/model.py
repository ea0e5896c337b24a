"""The model being monitored: a logistic-regression fraud scorer, trained at start-up.

Four transaction features, a generator with a known ground truth (so the load generator can
send the true label later, as a chargeback would), and plain numpy gradient descent: under a
second to train, nothing to download. ``drift`` in :func:`generate` shifts the inputs (larger
amounts at night: the prediction mix moves) and ``concept`` changes what fraud looks like
(the model's accuracy falls), the two degradations the demo drives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

FEATURES = ("amount", "account_age_days", "txn_last_hour", "hour")


def _truth_logit(x: np.ndarray, concept: float) -> np.ndarray:
    amount, age, burst, hour = x.T
    night = ((hour < 6) | (hour >= 23)).astype(float)
    logit = -1.2 + 2.0 * np.log1p(amount / 100) * (1 - 2 * concept) - 0.004 * age
    return np.asarray(logit + 0.6 * burst * (1 - 2 * concept) + 1.0 * night)


def generate(
    n: int, *, seed: int, drift: float = 0.0, concept: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` transactions (features in ``FEATURES`` order) and their true fraud labels.

    Args:
        n: Rows.
        seed: Random seed.
        drift: 0..1, input shift: bigger amounts, more night-time and burst activity.
        concept: 0..1, how far the fraud pattern moves away from what the model learned.
    """
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.6 + 1.2 * drift, 1.0, n)
    age = rng.gamma(2.0, 200 * (1 - 0.6 * drift), n)
    burst = rng.poisson(1.0 + 3.0 * drift, n).astype(float)
    hour = np.where(
        rng.random(n) < 0.1 + 0.5 * drift, rng.integers(0, 6, n), rng.integers(6, 24, n)
    )
    x = np.column_stack([amount, age, burst, hour.astype(float)])
    p = 1 / (1 + np.exp(-_truth_logit(x, concept)))
    return x, (rng.random(n) < p).astype(int)


@dataclass
class FraudModel:
    """Standardise, then logistic regression. ``ranges`` are the training min/max per feature."""

    version: str
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    ranges: dict[str, tuple[float, float]]
    reference_accuracy: float
    reference_positive_rate: float
    trained_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    #: Per feature: the inner bin edges (training deciles, ties merged) and the training share
    #: of each bin, what :func:`psi` compares a window against.
    bins: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def score(self, x: np.ndarray) -> np.ndarray:
        """P(fraud) per row."""
        z = (self._transform(x) @ self.weights) + self.bias
        return np.asarray(1 / (1 + np.exp(-z)))

    def _transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float).copy()
        x[:, 0] = np.log1p(np.maximum(x[:, 0], 0) / 100)  # amounts are heavy-tailed
        return np.asarray((x - self.mean) / self.scale)


def train(*, version: str, seed: int, rows: int = 20_000, epochs: int = 300) -> FraudModel:
    """Fit on generated data; record ranges, accuracy and positive rate for monitoring."""
    x, y = generate(rows, seed=seed)
    xt = x.copy()
    xt[:, 0] = np.log1p(xt[:, 0] / 100)
    mean, scale = xt.mean(axis=0), xt.std(axis=0) + 1e-9
    z = (xt - mean) / scale
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= 0.5 * (z.T @ (p - y)) / len(y)
        b -= 0.5 * float(np.mean(p - y))
    ranges = {name: (float(x[:, i].min()), float(x[:, i].max())) for i, name in enumerate(FEATURES)}
    bins = {name: reference_bins(x[:, i]) for i, name in enumerate(FEATURES)}
    model = FraudModel(version, w, b, mean, scale, ranges, 0.0, 0.0, bins=bins)
    predicted = (model.score(x) >= 0.5).astype(int)
    model.reference_accuracy = float(np.mean(predicted == y))
    model.reference_positive_rate = float(np.mean(predicted))
    return model


#: A bin's share is never taken below this in :func:`psi` (an empty bin would be ln(0)).
PSI_FLOOR = 1e-4


def reference_bins(column: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Inner edges of ``bins`` quantile bins of a training column (equal edges merged, as for a
    discrete feature such as the hour) and the training share of each resulting bin."""
    edges = np.unique(np.quantile(column, np.linspace(0, 1, bins + 1)[1:-1]))
    shares = np.bincount(np.searchsorted(edges, column, side="right"), minlength=len(edges) + 1)
    return edges, shares / len(column)


def psi(window: np.ndarray, edges: np.ndarray, expected: np.ndarray) -> float:
    """Population stability index of ``window`` against the training distribution.

    ``sum((actual - expected) * ln(actual / expected))`` over the training bins. Read as: below
    0.1 no shift, 0.1-0.25 a moderate shift, above 0.25 a significant one (the usual credit-
    scoring thresholds).
    """
    counts = np.bincount(np.searchsorted(edges, window, side="right"), minlength=len(expected))
    actual = np.maximum(counts / max(len(window), 1), PSI_FLOOR)
    reference = np.maximum(expected, PSI_FLOOR)
    return float(np.sum((actual - reference) * np.log(actual / reference)))
