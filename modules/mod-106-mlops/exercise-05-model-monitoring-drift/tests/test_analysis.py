"""Evidently finds the drift that was injected, and only that (fixed seeds)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from driftwatch import data
from driftwatch.analysis import ColumnDrift, DriftSummary, analyze
from driftwatch.errors import DataError


def _drifted(summary: DriftSummary) -> set[str]:
    return {c.column for c in summary.columns if c.drifted}


def test_no_drift_window_stays_quiet(reference: pd.DataFrame) -> None:
    summary = analyze(reference, data.generate(800, seed=101))
    assert [c.column for c in summary.columns] == list(data.FEATURES)
    assert _drifted(summary) == set()
    assert summary.dataset_drift is False
    assert summary.drift_share == 0.0
    assert summary.new_categories == {}
    assert all(share == 0.0 for share in summary.missing_share.values())


def test_covariate_shift_is_found_in_the_shifted_features(reference: pd.DataFrame) -> None:
    summary = analyze(reference, data.generate(800, seed=102, drift=data.scenario("covariate")))
    assert _drifted(summary) == {"income", "credit_score", "debt_ratio"}
    # 3 of 7 features: below the default share of 0.5, over a stricter one.
    assert summary.dataset_drift is False
    assert summary.drift_share == pytest.approx(3 / 7, abs=1e-6)
    col = summary.column("credit_score")
    assert col.method
    assert col.threshold > 0


def test_stricter_share_makes_the_same_window_a_dataset_drift(reference: pd.DataFrame) -> None:
    current = data.generate(800, seed=102, drift=data.scenario("covariate"))
    assert analyze(reference, current, drift_share=0.4).dataset_drift is True


def test_new_categories_and_missing_values_are_reported(
    reference: pd.DataFrame, tmp_path: Path
) -> None:
    spec = data.DriftSpec(new_categories={"region": (("central",), 0.3)}, missing={"income": 0.35})
    summary = analyze(
        reference, data.generate(800, seed=103, drift=spec), out_dir=tmp_path, name="w1"
    )
    assert summary.new_categories == {"region": ["central"]}
    assert summary.missing_share["income"] == pytest.approx(0.35, abs=0.05)
    assert summary.missing_share["age"] == 0.0
    assert "region" in _drifted(summary)

    # The HTML is Evidently's report; the JSON is the summary, and reads back the same.
    assert summary.report_html == str(tmp_path / "w1.html")
    html = (tmp_path / "w1.html").read_text()
    assert len(html) > 100_000
    assert "credit_score" in html
    assert "root_metric" in html
    saved = json.loads((tmp_path / "w1.json").read_text())
    saved["columns"] = [ColumnDrift(**c) for c in saved["columns"]]
    assert DriftSummary(**saved) == summary


def test_concept_drift_is_invisible_to_input_drift(reference: pd.DataFrame) -> None:
    # Only the labels change: the inputs look the same, so performance monitoring must catch it.
    summary = analyze(reference, data.generate(800, seed=104, drift=data.scenario("concept")))
    assert summary.dataset_drift is False


def test_bad_windows_are_refused_before_evidently_runs(reference: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"current window: missing column\(s\) age"):
        analyze(reference, data.generate(50, seed=1).drop(columns=["age"]))
    with pytest.raises(DataError, match="drift_share"):
        analyze(reference, reference, drift_share=0)
