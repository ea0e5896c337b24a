"""The template project's DVC stages: ``dvc repro`` runs ``mlcicd stage <name>`` in the
project folder, each reading its section of ``params.yaml``.

    prepare   data/raw.csv            -> data/prepared/{train,test}.csv   (schema checked)
    train     data/prepared/train.csv -> models/model.pkl
    evaluate  model + test split      -> metrics.json                     (dvc metrics)
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from aiinfra_shared.cliapp import validation_message
from mlcicd.data import CATEGORICAL, FEATURES, LABEL, NUMERIC, read_csv, write_csv
from mlcicd.errors import MlcicdError

RAW = Path("data/raw.csv")
TRAIN = Path("data/prepared/train.csv")
TEST = Path("data/prepared/test.csv")
MODEL = Path("models/model.pkl")
METRICS = Path("metrics.json")


class PrepareParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    test_size: float = Field(default=0.25, gt=0.05, lt=0.6)
    seed: int = Field(default=7, ge=0)


class TrainParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    model: Literal["logistic_regression", "random_forest"] = "logistic_regression"
    C: float = Field(default=1.0, gt=0)
    n_estimators: int = Field(default=100, ge=1, le=2000)
    max_depth: int = Field(default=6, ge=1, le=64)
    seed: int = Field(default=7, ge=0)


class Params(BaseModel):
    """``params.yaml`` of the template project."""

    model_config = ConfigDict(extra="forbid")
    prepare: PrepareParams = PrepareParams()
    train: TrainParams = TrainParams()


def load_params(path: Path = Path("params.yaml")) -> Params:
    """Read and check ``params.yaml``; a wrong type is one line naming the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MlcicdError(f"{path}: no such params file") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MlcicdError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise MlcicdError(f"{path}: expected a mapping of parameters")
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        raise MlcicdError(f"{path}: {validation_message(exc)}") from None


def build_model(params: TrainParams) -> Pipeline:
    """Preprocessing and a classifier in one pipeline (what is served is what was tested)."""
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             list(NUMERIC)),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(handle_unknown="ignore")), list(CATEGORICAL)),
        ]
    )  # fmt: skip
    if params.model == "logistic_regression":
        clf = LogisticRegression(C=params.C, class_weight="balanced", max_iter=1000)
    else:
        clf = RandomForestClassifier(
            n_estimators=params.n_estimators, max_depth=params.max_depth,
            class_weight="balanced", random_state=params.seed, n_jobs=1,
        )  # fmt: skip
    return Pipeline([("pre", pre), ("clf", clf)])


def prepare(root: Path = Path()) -> str:
    """Check the raw data against the schema and split it (stratified)."""
    from mlcicd.gates import data_gate

    params = load_params(root / "params.yaml").prepare
    frame = read_csv(root / RAW)
    gate = data_gate(frame)
    failed = [c for c in gate.checks if not c.passed and c.name in ("schema", "rows")]
    if failed:
        raise MlcicdError(f"{RAW}: " + "; ".join(f"{c.name}: {c.evidence}" for c in failed))
    train, test = train_test_split(
        frame, test_size=params.test_size, random_state=params.seed, stratify=frame[LABEL]
    )
    write_csv(train, root / TRAIN)
    write_csv(test, root / TEST)
    return f"prepare: {len(train)} train / {len(test)} test rows"


def train(root: Path = Path()) -> str:
    """Fit the model on the training split."""
    params = load_params(root / "params.yaml").train
    frame = read_csv(root / TRAIN)
    model = build_model(params).fit(frame[list(FEATURES)], frame[LABEL])
    (root / MODEL).parent.mkdir(parents=True, exist_ok=True)
    (root / MODEL).write_bytes(pickle.dumps(model))
    return f"train: {params.model} on {len(frame)} rows"


def load_model(path: Path) -> object:
    """Load the pipeline's own model file (written by :func:`train` in this project)."""
    if not path.is_file():
        raise MlcicdError(f"{path}: no model file; run `dvc repro` first")
    try:
        model = pickle.loads(path.read_bytes())  # noqa: S301 - the project's own stage output
    except Exception as exc:  # a truncated pickle raises anything from EOFError to ImportError
        raise MlcicdError(f"{path}: not a model file ({type(exc).__name__})") from None
    if not hasattr(model, "predict_proba"):
        raise MlcicdError(f"{path}: not a classifier with predict_proba")
    return model


def evaluate(root: Path = Path()) -> str:
    """Score the model on the test split; write ``metrics.json`` for ``dvc metrics``."""
    from mlcicd.gates import latency_p95_ms, model_metrics, size_mb

    model = load_model(root / MODEL)
    test = read_csv(root / TEST)
    metrics = model_metrics(model, test)
    metrics["latency_p95_ms"] = latency_p95_ms(model, test)
    metrics["size_mb"] = size_mb(model)
    (root / METRICS).write_text(
        json.dumps({k: round(v, 5) for k, v in metrics.items()}, indent=2) + "\n"
    )
    return f"evaluate: ROC AUC {metrics['roc_auc']:.3f}, F1 {metrics['f1']:.3f}"


STAGES = {"prepare": prepare, "train": train, "evaluate": evaluate}
