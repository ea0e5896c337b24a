"""One training run, fully tracked: what a reviewer needs to trust and reproduce a model.

Logged per run:

- **params**: model kind and hyperparameters, dataset, seed, split sizes;
- **metrics**: per-epoch ``train_loss``/``val_loss``/``val_accuracy`` (with ``step``), then the
  final validation metrics (accuracy, precision, recall, F1, ROC AUC);
- **tags**: ``git_sha`` (the code), ``data_hash`` (the data), ``run_kind``, ``model_kind``;
- **inputs**: the training and validation sets as MLflow datasets (lineage in the UI);
- **artifacts**: ``confusion_matrix.png``, ``feature_importance.json`` and ``.png``;
- **model**: in its flavor, with signature and input example, under the name ``model``.
"""

from __future__ import annotations

import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from exptrack import models as model_lib
from exptrack.data import TARGET, Dataset
from exptrack.models import EpochCallback, ModelSpec, Trained
from exptrack.server import owner_tags

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.models import ModelSignature

EPOCH_BATCH = 10
TREE_TYPES = ["sklearn.tree._tree.Tree"]


@dataclass(frozen=True)
class RunResult:
    """What a training run produced.

    Attributes:
        run_id: MLflow run id.
        model_uri: ``models:/<model id>``: the logged model, ready to register.
        spec: What was trained.
        metrics: Final validation metrics.
    """

    run_id: str
    model_uri: str
    spec: ModelSpec
    metrics: dict[str, float]


def git_sha() -> str:
    """The commit of the code that trained the model, or ``unknown`` outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def classification_metrics(
    y: np.ndarray, labels: np.ndarray, p1: np.ndarray | None
) -> dict[str, float]:
    """Accuracy, precision, recall, F1 (and ROC AUC when probabilities are given)."""
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    out = {
        "accuracy": float(accuracy_score(y, labels)),
        "precision": float(precision_score(y, labels, zero_division=0)),
        "recall": float(recall_score(y, labels, zero_division=0)),
        "f1": float(f1_score(y, labels, zero_division=0)),
    }
    if p1 is not None:
        out["roc_auc"] = float(roc_auc_score(y, p1))
    return out


def _pip_requirements(flavor: str) -> list[str]:
    # Explicit requirements: otherwise mlflow infers them by loading the model in a fresh
    # interpreter, which took minutes on a busy 2-core machine.
    import sklearn
    import torch

    if flavor == "pytorch":
        return [f"torch=={torch.__version__.split('+')[0]}", "numpy", "pandas"]
    return [f"scikit-learn=={sklearn.__version__}", "numpy", "pandas"]


def log_model(trained: Trained, data: Dataset) -> str:
    """Log ``trained`` under the active run; return its ``models:/`` URI."""
    from mlflow.models import infer_signature

    x_train, _ = data.xy("train")
    example = x_train.head(5)
    with warnings.catch_warnings():
        # The output is a class label: an integer that is never missing, which is what
        # mlflow's "integer column" hint warns about.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        signature = infer_signature(x_train, trained.predict(x_train))
        return _log_flavor(trained, signature, example)


def _log_flavor(trained: Trained, signature: ModelSignature, example: pd.DataFrame) -> str:
    import mlflow

    if trained.flavor == "pytorch":
        info = mlflow.pytorch.log_model(
            trained.model,
            name="model",
            signature=signature,
            input_example=example,
            pip_requirements=_pip_requirements("pytorch"),
            # mlflow 3.17 defaults to "pt2" (torch.export), which needs a tensor input example
            # and drops the column names the signature promises; a pickled module keeps the
            # DataFrame contract. It refers to exptrack.models.TabularClassifier, so that code
            # ships with the model and it loads where this package is not installed.
            serialization_format="pickle",
            code_paths=[str(Path(__file__).parent)],
        )
    else:
        info = mlflow.sklearn.log_model(
            trained.model,
            name="model",
            signature=signature,
            input_example=example,
            pip_requirements=_pip_requirements("sklearn"),
            # mlflow saves scikit-learn models with skops, which loads only types it trusts.
            # Tree ensembles need their node storage trusted explicitly: we trained these
            # models ourselves, so we vouch for exactly that one type and nothing more.
            skops_trusted_types=TREE_TYPES if trained.spec.kind in ("forest", "gbm") else None,
        )
    return str(info.model_uri)


def train_run(
    spec: ModelSpec,
    data: Dataset,
    *,
    seed: int = 42,
    run_name: str | None = None,
    nested: bool = False,
    extra_tags: dict[str, str] | None = None,
    on_epoch: EpochCallback | None = None,
) -> RunResult:
    """Train ``spec`` on ``data`` inside a new MLflow run of the active experiment.

    Args:
        spec: Model kind and hyperparameters.
        data: The split dataset.
        seed: Model seed.
        run_name: Run name (default: the spec's label).
        nested: Start the run as a child of the active run (a sweep's trial).
        extra_tags: More tags for the run.
        on_epoch: Called after each epoch with its metrics (progress bars).
    """
    import mlflow
    import mlflow.data
    from mlflow.entities import Metric

    tags = {
        "run_kind": "train",
        "model_kind": spec.kind,
        "model_flavor": model_lib.FLAVOR[spec.kind],
        "git_sha": git_sha(),
        "data_hash": data.digest,
        "dataset": data.name,
        **owner_tags(),
        **(extra_tags or {}),
    }
    with mlflow.start_run(run_name=run_name or spec.label, nested=nested, tags=tags) as run:
        mlflow.log_params(
            {
                "model_kind": spec.kind,
                **spec.params,
                "dataset": data.name,
                "seed": seed,
                "n_features": len(data.features),
                "n_train": len(data.train),
                "n_val": len(data.val),
                "dataset_rows": len(data.train) + len(data.val) + len(data.holdout),
            }
        )
        from mlflow.data.pandas_dataset import from_pandas

        mlflow.log_input(
            from_pandas(data.train, name=f"{data.name}-train", targets=TARGET),
            context="training",
        )
        mlflow.log_input(
            from_pandas(data.val, name=f"{data.name}-val", targets=TARGET),
            context="validation",
        )

        client = mlflow.MlflowClient()
        pending: list[Metric] = []

        def flush() -> None:
            if pending:
                client.log_batch(run.info.run_id, metrics=list(pending))
                pending.clear()

        def epoch_logged(step: int, row: dict[str, float]) -> None:
            # One request per EPOCH_BATCH epochs, not one per metric per epoch: the curves
            # still fill in live in the UI, at a tenth of the round trips.
            now = int(time.time() * 1000)
            pending.extend(Metric(k, v, now, step) for k, v in row.items())
            if len(pending) >= EPOCH_BATCH * len(row):
                flush()
            if on_epoch is not None:
                on_epoch(step, row)

        trained = model_lib.fit(spec, data, seed=seed, on_epoch=epoch_logged)
        flush()

        x_val, y_val = data.xy("val")
        labels = trained.predict(x_val)
        scores = classification_metrics(y_val, labels, trained.predict_proba(x_val))
        x_train, y_train = data.xy("train")
        final = {f"val_{k}": v for k, v in scores.items()}
        final["train_accuracy"] = float(np.mean(trained.predict(x_train) == y_train))
        final["epochs"] = float(len(trained.history))
        mlflow.log_metrics(final)

        from exptrack.plots import confusion_matrix_figure, importance_figure

        mlflow.log_figure(
            confusion_matrix_figure(y_val, labels, f"{spec.label}: validation"),
            "confusion_matrix.png",
        )
        mlflow.log_dict(trained.importances, "feature_importance.json")
        mlflow.log_figure(
            importance_figure(trained.importances, f"{spec.label}: feature importance"),
            "feature_importance.png",
        )
        model_uri = log_model(trained, data)
        mlflow.set_tag("model_uri", model_uri)
    return RunResult(run.info.run_id, model_uri, spec, final)
