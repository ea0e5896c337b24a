"""Rich tables of drift summaries and monitor results (the CLI's and the demo's output)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from driftwatch.analysis import DriftSummary
from driftwatch.monitor import WindowResult


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def drift_table(summary: DriftSummary) -> Table:
    """One row per feature: test, value, threshold, verdict, missing share, new categories."""
    title = (
        f"{summary.drifted_columns}/{len(summary.columns)} features drifted "
        f"(share {summary.drift_share:.2f}, threshold {summary.drift_share_threshold:.2f}): "
        + ("[bold red]DATASET DRIFT[/]" if summary.dataset_drift else "[green]no dataset drift[/]")
    )
    table = Table(title=title, title_justify="left")
    for name in ("feature", "test", "value", "threshold", "drift", "missing", "new categories"):
        table.add_column(name, justify="right" if name in ("value", "threshold") else "left")
    for col in summary.columns:
        table.add_row(
            col.column,
            col.method,
            f"{col.score:.4g}",
            f"{col.threshold:g}",
            "[red]yes[/]" if col.drifted else "[green]no[/]",
            _pct(summary.missing_share.get(col.column, 0.0)),
            ", ".join(summary.new_categories.get(col.column, [])),
        )
    return table


def monitor_table(results: Sequence[WindowResult]) -> Table:
    """One row per window: drift, drifted features, accuracy from late labels, retrain."""
    table = Table(title="driftwatch monitor", title_justify="left")
    for name in ("#", "window", "drift share", "drifted features", "accuracy", "labels", "retrain"):
        table.add_column(name)
    for r in results:
        drifted = [c.column for c in r.drift.columns if c.drifted]
        if r.request is not None:
            retrain = "[bold magenta]REQUESTED[/]"
        elif r.cooldown:
            retrain = "[dim]cooldown[/]"
        else:
            retrain = ""
        if r.pending_requests:
            retrain += f" ({r.pending_requests} pending)"
        share = f"{r.drift.drift_share:.2f}"
        table.add_row(
            str(r.index),
            r.name,
            f"[red]{share}[/]" if r.drift.dataset_drift else f"[green]{share}[/]",
            ", ".join(drifted) or "–",
            _pct(r.performance.accuracy),
            _pct(r.performance.coverage),
            retrain,
        )
    return table
