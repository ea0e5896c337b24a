"""The models: three scikit-learn estimators and a small torch network, all trained per epoch.

Every kind reports the same per-epoch history (``train_loss``, ``val_loss``,
``val_accuracy``), so MLflow draws comparable curves for all of them:

- ``logreg``: standardisation + logistic regression by SGD, one ``partial_fit`` per epoch;
- ``forest``: a random forest grown ten trees per step (``warm_start``);
- ``gbm``: gradient boosting, one step per boosting stage;
- ``mlp``: a two-layer torch network trained with Adam.

Each model is logged in its own MLflow flavor (``sklearn`` or ``pytorch``) and predicts class
labels through both the flavor and the generic ``pyfunc`` interface. The torch model is saved as
an inference module (:class:`TabularClassifier`) that carries its own standardisation and
returns labels, so a caller needs no preprocessing code from this package's training side.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from exptrack.data import Dataset
from exptrack.errors import ExptrackError

DEFAULTS: dict[str, dict[str, float | int]] = {
    "logreg": {"alpha": 1e-4, "epochs": 30},
    "forest": {"n_estimators": 100, "max_depth": 6},
    "gbm": {"n_estimators": 100, "learning_rate": 0.1, "max_depth": 2},
    "mlp": {"hidden": 32, "lr": 0.01, "epochs": 40, "weight_decay": 1e-4},
}
KINDS = tuple(DEFAULTS)
#: Upper bounds: a typo (``epochs=1000000000``, ``hidden=100000000``) must be refused before it
#: runs for days or asks for terabytes, not after.
LIMITS: dict[str, float | int] = {
    "alpha": 10.0,
    "epochs": 10_000,
    "n_estimators": 5_000,
    "max_depth": 64,
    "learning_rate": 1.0,
    "hidden": 4_096,
    "lr": 1.0,
    "weight_decay": 1.0,
}
FLAVOR = {"logreg": "sklearn", "forest": "sklearn", "gbm": "sklearn", "mlp": "pytorch"}

EpochCallback = Callable[[int, dict[str, float]], None]


@dataclass(frozen=True)
class ModelSpec:
    """A model kind and its hyperparameters (defaults filled in)."""

    kind: str
    params: dict[str, float | int] = field(default_factory=dict)

    @classmethod
    def parse(cls, kind: str, assignments: str | dict[str, Any] | None = None) -> ModelSpec:
        """Build a spec from ``kind`` and ``"key=value,key=value"`` (or a dict).

        Raises:
            ExptrackError: Unknown kind, unknown parameter or a value of the wrong type.
        """
        if kind not in DEFAULTS:
            raise ExptrackError(f"unknown model kind {kind!r}; choose one of {', '.join(KINDS)}")
        defaults = DEFAULTS[kind]
        given: dict[str, Any]
        if assignments is None or assignments == "":
            given = {}
        elif isinstance(assignments, dict):
            given = dict(assignments)
        else:
            given = {}
            for item in assignments.split(","):
                key, sep, value = item.partition("=")
                if not sep:
                    raise ExptrackError(f"bad parameter {item!r}: write key=value")
                given[key.strip()] = value.strip()
        params: dict[str, float | int] = dict(defaults)
        for key, value in given.items():
            if key not in defaults:
                raise ExptrackError(
                    f"{kind} has no parameter {key!r}; it has {', '.join(defaults)}"
                )
            typ = type(defaults[key])
            try:
                params[key] = typ(value)
            except (TypeError, ValueError):
                raise ExptrackError(f"{kind}.{key} must be {typ.__name__}, got {value!r}") from None
            if not 0 < params[key] <= LIMITS[key]:  # NaN fails both comparisons: refused too
                raise ExptrackError(f"{kind}.{key} must be in (0, {LIMITS[key]:g}], got {value!r}")
        return cls(kind, params)

    @property
    def label(self) -> str:
        """``kind(key=value, ...)``, for tables and run names."""
        inner = ",".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.kind}({inner})"


@dataclass
class Trained:
    """A fitted model and what its training saw.

    Attributes:
        spec: What was trained.
        model: A scikit-learn estimator or a :class:`TabularClassifier`.
        flavor: ``sklearn`` or ``pytorch``: the MLflow flavor it is logged in.
        history: One dict of metrics per epoch (or tree step, or boosting stage).
        importances: Feature name to importance (impurity, |coefficient| or permutation).
    """

    spec: ModelSpec
    model: Any
    flavor: str
    history: list[dict[str, float]]
    importances: dict[str, float]

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """Class labels (0/1)."""
        return predict_labels(self.model, x)

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        """Probability of class 1."""
        if isinstance(self.model, TabularClassifier):
            return self.model.proba(torch.as_tensor(x.to_numpy(np.float32)))[:, 1].numpy()
        return np.asarray(self.model.predict_proba(x)[:, 1])


class TabularClassifier(nn.Module):
    """The saved torch model: standardise, run the network, return class labels.

    ``forward`` is the serving path (what ``mlflow.pytorch`` and ``pyfunc`` call);
    :meth:`logits` is the training path.
    """

    mean: torch.Tensor  # buffers: saved with the weights
    std: torch.Tensor

    def __init__(self, n_features: int, hidden: int, mean: np.ndarray, std: np.ndarray) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.head = nn.Linear(hidden, 2)
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores of standardised ``x``."""
        z: torch.Tensor = self.head(self.net((x - self.mean) / self.std))
        return z

    def proba(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities."""
        with torch.no_grad():
            return torch.softmax(self.logits(x), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class labels (int64)."""
        return self.logits(x).argmax(dim=1)


def predict_labels(model: Any, x: pd.DataFrame) -> np.ndarray:
    """Labels from a fitted estimator or :class:`TabularClassifier`."""
    if isinstance(model, nn.Module):
        with torch.no_grad():
            return np.asarray(model(torch.as_tensor(x.to_numpy(np.float32))).numpy())
    return np.asarray(model.predict(x))


def _log_loss(y: np.ndarray, p1: np.ndarray) -> float:
    p = np.clip(p1, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _epoch_metrics(
    y_train: np.ndarray, p_train: np.ndarray, y_val: np.ndarray, p_val: np.ndarray
) -> dict[str, float]:
    return {
        "train_loss": _log_loss(y_train, p_train),
        "val_loss": _log_loss(y_val, p_val),
        "val_accuracy": float(np.mean((p_val >= 0.5) == y_val)),
    }


def _fit_logreg(spec: ModelSpec, data: Dataset, seed: int, cb: EpochCallback) -> Trained:
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = data.xy("train")
    xv, yv = data.xy("val")
    scaler = StandardScaler().fit(x)
    xs, xvs = scaler.transform(x), scaler.transform(xv)
    clf = SGDClassifier(loss="log_loss", alpha=float(spec.params["alpha"]), random_state=seed)
    rng = np.random.default_rng(seed)
    history: list[dict[str, float]] = []
    for epoch in range(int(spec.params["epochs"])):
        order = rng.permutation(len(y))
        clf.partial_fit(xs[order], y[order], classes=np.array([0, 1]))
        row = _epoch_metrics(y, clf.predict_proba(xs)[:, 1], yv, clf.predict_proba(xvs)[:, 1])
        history.append(row)
        cb(epoch, row)
    model = Pipeline([("scale", scaler), ("clf", clf)])
    weights = np.abs(clf.coef_[0])
    return Trained(
        spec, model, "sklearn", history, dict(zip(data.features, weights.tolist(), strict=False))
    )


def _fit_forest(spec: ModelSpec, data: Dataset, seed: int, cb: EpochCallback) -> Trained:
    from sklearn.ensemble import RandomForestClassifier

    x, y = data.xy("train")
    xv, yv = data.xy("val")
    total = int(spec.params["n_estimators"])
    model = RandomForestClassifier(
        n_estimators=0, max_depth=int(spec.params["max_depth"]), warm_start=True, random_state=seed
    )
    history: list[dict[str, float]] = []
    for step, trees in enumerate(range(10, total + 10, 10)):
        model.set_params(n_estimators=min(trees, total))
        model.fit(x, y)
        row = _epoch_metrics(y, model.predict_proba(x)[:, 1], yv, model.predict_proba(xv)[:, 1])
        history.append(row)
        cb(step, row)
    importances = dict(zip(data.features, model.feature_importances_.tolist(), strict=False))
    return Trained(spec, model, "sklearn", history, importances)


def _fit_gbm(spec: ModelSpec, data: Dataset, seed: int, cb: EpochCallback) -> Trained:
    from sklearn.ensemble import GradientBoostingClassifier

    x, y = data.xy("train")
    xv, yv = data.xy("val")
    model = GradientBoostingClassifier(
        n_estimators=int(spec.params["n_estimators"]),
        learning_rate=float(spec.params["learning_rate"]),
        max_depth=int(spec.params["max_depth"]),
        random_state=seed,
    ).fit(x, y)
    history: list[dict[str, float]] = []
    stages = zip(model.staged_predict_proba(x), model.staged_predict_proba(xv), strict=True)
    for stage, (pt, pv) in enumerate(stages):
        row = _epoch_metrics(y, pt[:, 1], yv, pv[:, 1])
        history.append(row)
        cb(stage, row)
    importances = dict(zip(data.features, model.feature_importances_.tolist(), strict=False))
    return Trained(spec, model, "sklearn", history, importances)


def _fit_mlp(spec: ModelSpec, data: Dataset, seed: int, cb: EpochCallback) -> Trained:
    torch.manual_seed(seed)
    x_df, y_np = data.xy("train")
    xv_df, yv_np = data.xy("val")
    x = torch.as_tensor(x_df.to_numpy(np.float32))
    y = torch.tensor(y_np, dtype=torch.long)
    xv = torch.as_tensor(xv_df.to_numpy(np.float32))
    mean = x.mean(dim=0).numpy()
    std = x.std(dim=0).clamp_min(1e-6).numpy()
    model = TabularClassifier(x.shape[1], int(spec.params["hidden"]), mean, std)
    opt = torch.optim.Adam(
        model.parameters(),
        lr=float(spec.params["lr"]),
        weight_decay=float(spec.params["weight_decay"]),
    )
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    batch = 64
    history: list[dict[str, float]] = []
    for epoch in range(int(spec.params["epochs"])):
        model.train()
        order = torch.randperm(len(y), generator=gen)
        for start in range(0, len(y), batch):
            idx = order[start : start + batch]
            opt.zero_grad()
            loss = loss_fn(model.logits(x[idx]), y[idx])
            loss.backward()
            opt.step()
        model.eval()
        row = _epoch_metrics(
            y_np, model.proba(x)[:, 1].numpy(), yv_np, model.proba(xv)[:, 1].numpy()
        )
        history.append(row)
        cb(epoch, row)
    importances = _permutation_importance(model, xv_df, yv_np, seed)
    return Trained(spec, model, "pytorch", history, importances)


def _permutation_importance(
    model: Any, x: pd.DataFrame, y: np.ndarray, seed: int
) -> dict[str, float]:
    """Accuracy lost when one column is shuffled (a model-agnostic importance)."""
    rng = np.random.default_rng(seed)
    base = float(np.mean(predict_labels(model, x) == y))
    out: dict[str, float] = {}
    for column in x.columns:
        shuffled = x.copy()
        shuffled[column] = rng.permutation(shuffled[column].to_numpy())
        out[str(column)] = max(0.0, base - float(np.mean(predict_labels(model, shuffled) == y)))
    return out


_FITTERS = {"logreg": _fit_logreg, "forest": _fit_forest, "gbm": _fit_gbm, "mlp": _fit_mlp}


def fit(
    spec: ModelSpec, data: Dataset, *, seed: int = 42, on_epoch: EpochCallback | None = None
) -> Trained:
    """Train ``spec`` on ``data.train``, reporting each epoch's metrics to ``on_epoch``."""
    trained = _FITTERS[spec.kind](spec, data, seed, on_epoch or (lambda _s, _m: None))
    bad = [k for row in trained.history for k, v in row.items() if not math.isfinite(v)]
    if bad:
        raise ExptrackError(f"{spec.label} diverged ({bad[0]} is not finite): lower the rate")
    return trained
