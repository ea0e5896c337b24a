"""Rich tables for jobs, tuning runs and the registry."""

from __future__ import annotations

import time
from typing import Any

from rich.table import Table

from trainplat.results import JobReport, TuneReport


def job_table(report: JobReport) -> Table:
    """Per-epoch history of a job."""
    table = Table(title=f"job {report.name}: {report.state} in {report.seconds:.0f} s")
    for col in ("epoch", "train_loss", "val_loss", "val_acc", "samples/s", "worker group"):
        table.add_column(col, justify="right")
    for row in report.history:
        group = "restarted" if row.get("start_epoch", 0) else "first"
        table.add_row(
            str(row["epoch"]),
            f"{row['train_loss']:.4f}",
            f"{row['val_loss']:.4f}",
            f"{row['val_acc']:.3f}",
            f"{row['samples_per_s']:,.0f}",
            group,
        )
    return table


def tune_table(report: TuneReport) -> Table:
    """Trials of a tuning run, best first."""
    reverse = report.mode == "max"
    table = Table(
        title=f"{report.name}: {len(report.trials)} trials, ASHA, "
        f"{report.metric} ({report.mode}) in {report.seconds:.0f} s"
    )
    keys = sorted({k for t in report.trials for k in t.config})
    for col in ("trial", *keys, "epochs", report.metric, ""):
        table.add_column(col, justify="right")
    for t in sorted(report.trials, key=lambda t: t.metric, reverse=reverse):
        values = [_fmt(t.config[k]) for k in keys]
        note = (
            "best"
            if t.trial == report.best.trial
            else ("stopped by ASHA" if t.stopped_early else "")
        )
        table.add_row(t.trial, *values, str(t.epochs), f"{t.metric:.4f}", note)
    return table


def registry_table(entries: list[dict[str, Any]]) -> Table:
    """``trainplat status``."""
    table = Table(title="trainplat jobs")
    for col in ("when", "kind", "name", "state", "result", "checkpoint"):
        table.add_column(col)
    for e in entries:
        metrics = e.get("metrics") or {}
        shown = ", ".join(
            f"{k}={_fmt(v)}"
            for k, v in metrics.items()
            if k in ("val_loss", "val_acc", "trials", "epoch")
        )
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.get("recorded", 0)))
        table.add_row(
            when,
            e.get("kind", "?"),
            e.get("name", "?"),
            e.get("state", "?"),
            shown or e.get("error", ""),
            str(e.get("checkpoint") or "-"),
        )
    return table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
