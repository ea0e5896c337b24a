"""Compare runs: the top runs by a metric as a table, a PNG and a self-contained HTML page."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from exptrack.errors import ExptrackError

if TYPE_CHECKING:
    from mlflow import MlflowClient

COLUMNS = ("run_id", "run_name", "model_kind", "val_f1", "val_accuracy", "val_roc_auc", "epochs")


def top_runs(
    client: MlflowClient, experiment: str, metric: str = "val_f1", limit: int = 10
) -> pd.DataFrame:
    """The ``limit`` finished training runs with the highest ``metric``.

    Raises:
        ExptrackError: Unknown experiment, or no run has ``metric``.
    """
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise ExptrackError(f"unknown experiment {experiment!r}")
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string="tags.run_kind = 'train' and attributes.status = 'FINISHED'",
        order_by=[f"metrics.{metric} DESC"],
        max_results=limit,
    )
    rows = [
        {
            "run_id": r.info.run_id,
            "run_name": r.info.run_name,
            "model_kind": r.data.tags.get("model_kind", ""),
            **{
                k: r.data.metrics.get(k)
                for k in ("val_f1", "val_accuracy", "val_roc_auc", "epochs")
            },
            metric: r.data.metrics.get(metric),
        }
        for r in runs
        if metric in r.data.metrics
    ]
    if not rows:
        raise ExptrackError(f"no training run in {experiment!r} has metric {metric!r}")
    return pd.DataFrame(rows)


def compare_figure(client: MlflowClient, runs: pd.DataFrame, metric: str) -> object:
    """Left: ``metric`` per run. Right: each run's validation-loss curve by epoch."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 0.35 * len(runs) + 3), dpi=100)
    bars, curves = fig.subplots(1, 2)
    names = [f"{n} ({k})" for n, k in zip(runs["run_name"], runs["model_kind"], strict=True)][::-1]
    bars.barh(names, runs[metric].tolist()[::-1], color="#4c72b0")
    low = float(runs[metric].min())
    bars.set_xlim(max(0.0, low - 0.05), 1.0)
    bars.set_title(metric)
    bars.tick_params(axis="y", labelsize=8)
    for run_id, name in zip(runs["run_id"], runs["run_name"], strict=True):
        history = client.get_metric_history(run_id, "val_loss")
        points = sorted((m.step, m.value) for m in history)
        if points:
            curves.plot([s for s, _ in points], [v for _, v in points], label=name)
    curves.set_xlabel("epoch / step")
    curves.set_ylabel("val_loss")
    curves.set_yscale("log")
    curves.set_title("validation loss")
    curves.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return fig


def write_report(
    client: MlflowClient, runs: pd.DataFrame, metric: str, out: Path
) -> tuple[Path, Path]:
    """Write ``compare.png`` and ``compare.html`` (the table and the plot inline) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    fig = compare_figure(client, runs, metric)
    png = out / "compare.png"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")  # type: ignore[attr-defined]
    png.write_bytes(buffer.getvalue())
    encoded = base64.b64encode(buffer.getvalue()).decode()
    table = runs.to_html(index=False, float_format=lambda v: f"{v:.4f}", escape=True)
    page = out / "compare.html"
    page.write_text(
        "<!doctype html><meta charset='utf-8'>"
        f"<title>runs by {html.escape(metric)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 8px}</style>"
        f"<h1>Top runs by {html.escape(metric)}</h1>{table}"
        f"<p><img alt='comparison' src='data:image/png;base64,{encoded}'></p>",
        encoding="utf-8",
    )
    return png, page
