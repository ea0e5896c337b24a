"""Training, evaluation and selection: plain functions the DAG's tasks call.

Each function takes and returns small JSON-able values (paths, params, metrics), which is what
an Airflow XCom should carry; the data and models themselves stay in files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from airflowml.data import LABEL
from airflowml.errors import AirflowmlError
from airflowml.features import FeatureSpec, engineer, fit_spec
from airflowml.registry import ModelVersion

KINDS = ("logreg", "gbm")


def split(raw: pd.DataFrame, out_dir: Path, seed: int) -> dict[str, str]:
    """Split 60/20/20 (train/validation/test, stratified), fit the feature spec on train.

    Returns:
        Paths of ``train``, ``val``, ``test`` (engineered features plus the label, CSV),
        ``test_raw`` (the raw test rows: a deployed model builds its own features from them)
        and ``spec`` (the fitted :class:`FeatureSpec`, JSON).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    train, rest = train_test_split(raw, test_size=0.4, random_state=seed, stratify=raw[LABEL])
    val, test = train_test_split(rest, test_size=0.5, random_state=seed, stratify=rest[LABEL])
    spec = fit_spec(train)
    paths = {"spec": str(out_dir / "feature_spec.json"), "test_raw": str(out_dir / "test_raw.csv")}
    test.to_csv(paths["test_raw"], index=False)
    Path(paths["spec"]).write_text(json.dumps(spec.to_json(), indent=2))
    for name, part in (("train", train), ("val", val), ("test", test)):
        frame = engineer(part, spec)
        frame[LABEL] = part[LABEL].to_numpy()
        paths[name] = str(out_dir / f"{name}.csv")
        frame.to_csv(paths[name], index=False)
    return paths


def check_params(params: dict[str, Any]) -> None:
    """Refuse a grid entry with an unknown kind or a bad value (before any training)."""
    kind = params.get("kind")
    if kind not in KINDS:
        raise AirflowmlError(f"unknown model kind {kind!r}: use one of {', '.join(KINDS)}")
    if kind == "logreg" and not float(params.get("C", 1.0)) > 0:
        raise AirflowmlError(f"logreg C must be > 0, got {params.get('C')}")
    if kind == "gbm" and not 1 <= int(params.get("max_depth", 3)) <= 12:
        raise AirflowmlError(f"gbm max_depth must be within 1..12, got {params.get('max_depth')}")


def build(params: dict[str, Any], seed: int) -> Pipeline:
    """The estimator a grid entry names."""
    check_params(params)
    if params["kind"] == "logreg":
        return make_pipeline(
            StandardScaler(), LogisticRegression(C=float(params.get("C", 1.0)), max_iter=500)
        )
    return make_pipeline(
        HistGradientBoostingClassifier(
            max_depth=int(params.get("max_depth", 3)),
            learning_rate=float(params.get("learning_rate", 0.1)),
            max_iter=int(params.get("max_iter", 150)),
            random_state=seed,
        )
    )


def _xy(path: str) -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.read_csv(path)
    return frame.drop(columns=[LABEL]), frame[LABEL].to_numpy()


def train_candidate(
    paths: dict[str, str], params: dict[str, Any], out_dir: Path, seed: int
) -> dict[str, Any]:
    """Fit one grid entry on the training split and save it.

    Returns:
        ``params``, ``model_path`` and ``name`` (a short label such as ``gbm-max_depth=3``).
    """
    x, y = _xy(paths["train"])
    model = build(params, seed).fit(x, y)
    name = "-".join(
        [params["kind"], *(f"{k}={v}" for k, v in sorted(params.items()) if k != "kind")]
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / f"{name}.joblib"
    joblib.dump(model, model_path)
    return {"name": name, "params": params, "model_path": str(model_path)}


def metrics(model: Pipeline, path: str) -> dict[str, float]:
    """AUC, accuracy, F1 and log loss of a fitted model on one split."""
    x, y = _xy(path)
    proba = model.predict_proba(x)[:, 1]
    return {
        "auc": round(float(roc_auc_score(y, proba)), 5),
        "accuracy": round(float(accuracy_score(y, proba >= 0.5)), 5),
        "f1": round(float(f1_score(y, proba >= 0.5)), 5),
        "log_loss": round(float(log_loss(y, proba)), 5),
    }


def evaluate_candidate(candidate: dict[str, Any], paths: dict[str, str]) -> dict[str, Any]:
    """Score a trained candidate on the validation split (selection never looks at test)."""
    model = joblib.load(candidate["model_path"])
    return {**candidate, "val": metrics(model, paths["val"])}


def choose_best(evaluated: list[dict[str, Any]]) -> dict[str, Any]:
    """The candidate with the best validation AUC (ties: the lower log loss, then the name)."""
    if not evaluated:
        raise AirflowmlError("no candidates were trained")
    return min(evaluated, key=lambda c: (-c["val"]["auc"], c["val"]["log_loss"], c["name"]))


def load_spec(path: str | Path) -> FeatureSpec:
    return FeatureSpec.from_json(json.loads(Path(path).read_text()))


def champion_auc(current: ModelVersion, test_raw: str) -> float:
    """The deployed model's AUC on raw test rows, through its own saved feature spec."""
    raw = pd.read_csv(test_raw)
    model = joblib.load(current.model_path)
    features = engineer(raw, load_spec(current.spec_path))
    proba = model.predict_proba(features)[:, 1]
    return round(float(roc_auc_score(raw[LABEL].to_numpy(), proba)), 5)
