"""Batch scoring: what ``batch_inference``'s ``score`` task does, as a plain function.

A file taken from the inbox is never lost: it ends in ``processed/`` (scored) or in
``rejected/`` with a ``.reason.txt`` beside it (bad schema, no model), never deleted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from airflowml.config import AirflowmlSettings
from airflowml.data import LABEL, read_table, require_valid
from airflowml.errors import AirflowmlError
from airflowml.features import engineer
from airflowml.registry import ModelRegistry
from airflowml.training import load_spec


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}-{path.stat().st_mtime_ns}{path.suffix}"
    return path.rename(target)


def score_file(
    path: Path, model_name: str, run_id: str, settings: AirflowmlSettings | None = None
) -> dict[str, Any]:
    """Score one batch with the deployed version of ``model_name``.

    Returns:
        ``rows``, ``model_version``, ``mean_probability``, ``predicted_churners``,
        ``predictions`` (the CSV written) and ``input`` (where the batch file went).

    Raises:
        AirflowmlError: The file is unreadable or breaks the schema, or no model is deployed;
            the file has been moved to ``rejected/`` with the reason.
    """
    settings = settings or AirflowmlSettings()
    rejected = settings.data_dir / "rejected"
    try:
        frame = read_table(path)
        require_valid(frame, path.name, require_label=False)
        current = ModelRegistry(settings.models_dir, model_name).require_current()
    except AirflowmlError as exc:
        if path.exists():
            moved = _move(path, rejected)
            moved.with_suffix(".reason.txt").write_text(f"{exc}\n")
        raise
    model = joblib.load(current.model_path)
    features = engineer(frame, load_spec(current.spec_path))
    proba = model.predict_proba(features)[:, 1]
    out = pd.DataFrame(
        {
            "customer_id": frame["customer_id"],
            "churn_probability": proba.round(5),
            "churn_predicted": (proba >= 0.5).astype(int),
            "model_version": current.version,
        }
    )
    if LABEL in frame.columns:
        out[LABEL] = frame[LABEL]
    settings.predictions_dir.mkdir(parents=True, exist_ok=True)
    predictions = settings.predictions_dir / f"{path.stem}.predictions.csv"
    staging = predictions.with_suffix(".tmp")
    out.to_csv(staging, index=False)
    staging.replace(predictions)
    moved = _move(path, settings.processed_dir)
    summary = {
        "rows": len(out),
        "model_version": current.version,
        "mean_probability": round(float(proba.mean()), 5),
        "predicted_churners": int(out["churn_predicted"].sum()),
        "predictions": str(predictions),
        "input": str(moved),
        "run_id": run_id,
    }
    predictions.with_suffix(".json").write_text(json.dumps(summary, indent=2))
    return summary
