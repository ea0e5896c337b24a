"""Data quality profiling: what ``data_quality_monitor``'s ``profile`` task does.

The reference is the first snapshot that ever passed (kept in ``quality/reference.csv``);
later snapshots are compared against it, so slow drift adds up instead of hiding in day-to-day
differences.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from airflowml.config import AirflowmlSettings
from airflowml.data import mean_shift, read_table, validate


def profile_file(
    path: Path, max_mean_shift: float, settings: AirflowmlSettings | None = None
) -> dict[str, Any]:
    """Validate a snapshot and measure its drift against the reference.

    Returns:
        ``ok``, ``rows``, ``reasons`` (every broken rule or drifted feature),
        ``null_fraction`` and ``mean_shift`` per feature; also written next to the snapshot
        as ``quality_report.json``.
    """
    settings = settings or AirflowmlSettings()
    frame = read_table(path)
    report = validate(frame)
    reasons = list(report.reasons)
    reference_path = settings.quality_dir / "reference.csv"
    shifts: dict[str, float] = {}
    if report.ok and reference_path.is_file():
        shifts = mean_shift(read_table(reference_path), frame)
        reasons += [
            f"{name}: mean moved {shift:+.2f} std (limit {max_mean_shift:g})"
            for name, shift in shifts.items()
            if abs(shift) > max_mean_shift
        ]
    elif report.ok:
        reference_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, reference_path)
    result = {
        "ok": not reasons,
        "rows": report.rows,
        "reasons": reasons,
        "null_fraction": report.null_fraction,
        "mean_shift": shifts,
        "snapshot": str(path),
    }
    (path.parent / "quality_report.json").write_text(json.dumps(result, indent=2))
    return result
