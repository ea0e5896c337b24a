"""Serving the champion: load ``models:/<name>@<alias>`` and predict.

``pyfunc`` is the flavor-independent interface every MLflow model has (and what
``mlflow models serve`` uses): it checks the input against the signature and returns labels
for the scikit-learn and the torch models alike. ``native`` loads the model in its own flavor
(``mlflow.sklearn`` or ``mlflow.pytorch``) for code that needs the real object.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from exptrack.errors import ExptrackError
from exptrack.server import mlflow_errors

FLAVORS = ("pyfunc", "native")


def model_uri(name: str, alias: str = "champion") -> str:
    """``models:/<name>@<alias>``."""
    return f"models:/{name}@{alias}"


def check_alias(name: str, alias: str) -> None:
    """Raise a clear error when ``name`` or its ``alias`` does not exist."""
    import mlflow

    client = mlflow.MlflowClient()
    with mlflow_errors(f"registered model {name!r}"):
        model = client.get_registered_model(name)
    if alias not in (model.aliases or {}):
        have = ", ".join(sorted(model.aliases or {})) or "none"
        raise ExptrackError(f"{name} has no alias {alias!r} (aliases: {have})")


def predict(
    name: str, frame: pd.DataFrame, *, alias: str = "champion", flavor: str = "pyfunc"
) -> np.ndarray:
    """Labels for ``frame`` from the version behind ``alias``.

    Raises:
        ExptrackError: Unknown model or alias, unknown flavor, or input that does not match
            the model's signature.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    if flavor not in FLAVORS:
        raise ExptrackError(f"unknown flavor {flavor!r}; choose {' or '.join(FLAVORS)}")
    check_alias(name, alias)
    uri = model_uri(name, alias)
    with mlflow_errors(uri):
        pyfunc = mlflow.pyfunc.load_model(uri)
    columns = pyfunc.metadata.get_input_schema().input_names()
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ExptrackError(
            f"input lacks {len(missing)} column(s) the model needs: {', '.join(missing[:5])}"
        )
    x = frame[columns]
    if flavor == "pyfunc":
        try:
            return np.asarray(pyfunc.predict(x)).ravel()
        except MlflowException as exc:
            raise ExptrackError(f"input rejected by {uri}: {exc.message.splitlines()[0]}") from None
    flavors = pyfunc.metadata.flavors
    if "pytorch" in flavors:
        import torch

        net = mlflow.pytorch.load_model(uri)
        with torch.no_grad():
            return np.asarray(net(torch.as_tensor(x.to_numpy(np.float32))).numpy()).ravel()
    estimator = mlflow.sklearn.load_model(uri)
    return np.asarray(estimator.predict(x)).ravel()


def read_input(path: Path) -> pd.DataFrame:
    """Rows to score from a CSV or JSON (records) file."""
    if not path.is_file():
        raise ExptrackError(f"no such input file: {path}")
    try:
        if path.suffix.lower() == ".json":
            return pd.read_json(path, orient="records")
        return pd.read_csv(path)
    except ValueError as exc:
        raise ExptrackError(f"cannot read {path}: {exc}") from None
