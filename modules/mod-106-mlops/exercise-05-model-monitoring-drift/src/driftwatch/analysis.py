"""Drift and data quality of a current window against the reference, with Evidently 0.7.

One :func:`analyze` call builds an Evidently ``Report`` of ``DataDriftPreset`` (one drift test
per column; Evidently picks the test from the column type and the sample size: K-S or
Wasserstein for numbers, chi-square or Jensen-Shannon for categories), data-quality metrics
(``MissingValueCount`` per column, ``UniqueValueCount`` per category column) and, with
``full=True``, ``DataSummaryPreset`` (ranges, quantiles, duplicates: the richer HTML report,
about 3 s more per window). It runs the report and reads the snapshot back into a
:class:`DriftSummary`, a plain structure the monitor, the exporter and the JSON summary share.
The HTML report is Evidently's own.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from driftwatch.data import CATEGORICAL, FEATURES, NUMERICAL, validate_frame
from driftwatch.errors import DataError, SmallSampleError

#: Default minimum rows per window (``DRIFTWATCH_MIN_WINDOW_ROWS``).
MIN_ROWS = 30

logger = logging.getLogger(__name__)
os.environ.setdefault("DO_NOT_TRACK", "1")  # Evidently's telemetry (its UI service) stays off


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift verdict.

    Attributes:
        column: Column name.
        method: The statistical test Evidently chose, e.g. ``K-S p_value``.
        score: The test's value: a p-value (drift when below the threshold) or a distance
            (drift when at or above it), depending on ``method``.
        threshold: The threshold the verdict used.
        drifted: Evidently's verdict for the column.
    """

    column: str
    method: str
    score: float
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftSummary:
    """What one window looks like next to the reference.

    Attributes:
        rows: Rows in the current window.
        columns: Per-column drift, in feature order.
        drifted_columns: How many columns drifted.
        drift_share: ``drifted_columns / len(columns)``.
        drift_share_threshold: Share at or above which the dataset counts as drifted.
        dataset_drift: ``drift_share >= drift_share_threshold`` (Evidently's test).
        missing_share: Column → share of missing values in the current window.
        new_categories: Categorical column → values not seen in the reference.
        report_html: Path of the saved Evidently HTML report, when one was written.
    """

    rows: int
    columns: list[ColumnDrift]
    drifted_columns: int
    drift_share: float
    drift_share_threshold: float
    dataset_drift: bool
    missing_share: dict[str, float]
    new_categories: dict[str, list[str]] = field(default_factory=dict)
    report_html: str | None = None

    def column(self, name: str) -> ColumnDrift:
        """The verdict of column ``name``."""
        for col in self.columns:
            if col.column == name:
                return col
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``summary.json`` next to the HTML report)."""
        return asdict(self)


def _evidently() -> Any:
    """Import Evidently lazily: it takes 10-20 s, which the CLI's ``--help`` should not pay."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import evidently
        import evidently.presets
    return evidently


def analyze(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    drift_share: float = 0.5,
    out_dir: Path | str | None = None,
    name: str = "window",
    full: bool = False,
    min_rows: int = MIN_ROWS,
) -> DriftSummary:
    """Compare ``current`` with ``reference`` feature by feature.

    Args:
        reference: The window the model was trained on.
        current: The window to check.
        drift_share: Share of drifted columns at which the dataset counts as drifted.
        out_dir: When given, ``<name>.html`` (Evidently's report) and ``<name>.json`` (the
            summary) are written there.
        name: File stem of the report.
        full: Add Evidently's ``DataSummaryPreset`` (a richer report, slower).
        min_rows: Fewer rows than this in either frame is refused: a statistical test on a
            handful of rows says nothing (one row "drifts" on every feature).

    Returns:
        The summary.

    Raises:
        DataError: Either frame lacks feature columns or has unusable types.
        SmallSampleError: Either frame has fewer than ``min_rows`` rows.
    """
    if not 0 < drift_share <= 1:
        raise DataError(f"drift_share must be in (0, 1], got {drift_share}")
    for frame, what in ((reference, "reference"), (current, "current window")):
        if len(frame) < min_rows:
            raise SmallSampleError(
                f"{what} has {len(frame)} rows; drift needs at least {min_rows} "
                "(DRIFTWATCH_MIN_WINDOW_ROWS)"
            )
    validate_frame(reference, source="reference")
    validate_frame(current, source="current window")
    ev = _evidently()
    definition = ev.DataDefinition(
        numerical_columns=list(NUMERICAL), categorical_columns=list(CATEGORICAL)
    )
    ref = ev.Dataset.from_pandas(reference[list(FEATURES)], data_definition=definition)
    cur = ev.Dataset.from_pandas(current[list(FEATURES)], data_definition=definition)
    items: list[Any] = [ev.presets.DataDriftPreset(drift_share=drift_share)]
    items += [ev.metrics.MissingValueCount(column=c) for c in FEATURES]
    items += [ev.metrics.UniqueValueCount(column=c) for c in CATEGORICAL]
    if full:
        items.append(ev.presets.DataSummaryPreset())
    report = ev.Report(items, include_tests=True)
    with warnings.catch_warnings():
        # scipy's chi-square divides by zero for a category the reference never had; the
        # verdict (drift) is still right, the warning is noise.
        warnings.simplefilter("ignore", RuntimeWarning)
        snapshot = report.run(current_data=cur, reference_data=ref)
    summary = _summarize(snapshot.dict(), reference, len(current), drift_share)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        html = out / f"{name}.html"
        snapshot.save_html(str(html))
        summary = replace(summary, report_html=str(html))
        (out / f"{name}.json").write_text(json.dumps(summary.to_json(), indent=2) + "\n")
        logger.debug("report written to %s", html)
    return summary


def _summarize(
    snap: dict[str, Any], reference: pd.DataFrame, rows: int, drift_share: float
) -> DriftSummary:
    """Read the verdicts and quality figures out of the snapshot's tests and metrics."""
    verdicts: dict[str, bool] = {}
    for test in snap.get("tests", []):
        params = test.get("metric_config", {}).get("params", {})
        if params.get("type", "").endswith("ValueDrift"):
            verdicts[params["column"]] = test["status"] == "FAIL"
    columns: dict[str, ColumnDrift] = {}
    missing: dict[str, float] = {}
    new_categories: dict[str, list[str]] = {}
    for metric in snap["metrics"]:
        cfg = metric["config"]
        kind = cfg.get("type", "").rsplit(":", 1)[-1]
        column = cfg.get("column")
        if column not in FEATURES:
            continue
        if kind == "ValueDrift":
            if column not in verdicts:
                raise DataError(f"Evidently gave no drift verdict for column {column!r}")
            columns[column] = ColumnDrift(
                column=column,
                method=str(cfg["method"]),
                score=float(metric["value"]),
                threshold=float(cfg["threshold"]),
                drifted=verdicts[column],
            )
        elif kind == "MissingValueCount":
            missing[column] = round(float(metric["value"]["share"]), 6)
        elif kind == "UniqueValueCount":
            seen = set(reference[column].dropna().astype(str))
            new = sorted(str(v) for v in metric["value"]["counts"] if str(v) not in seen)
            if new:
                new_categories[column] = new
    ordered = [columns[c] for c in FEATURES if c in columns]
    drifted = sum(c.drifted for c in ordered)
    share = drifted / len(ordered) if ordered else 0.0
    return DriftSummary(
        rows=rows,
        columns=ordered,
        drifted_columns=drifted,
        drift_share=round(share, 6),
        drift_share_threshold=drift_share,
        dataset_drift=share >= drift_share,
        missing_share={c: missing.get(c, 0.0) for c in FEATURES},
        new_categories=new_categories,
    )
