"""The data gate: schema, ranges, nulls, label balance, drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlcicd.config import DataThresholds
from mlcicd.data import generate
from mlcicd.gates import data_gate, psi, psi_categorical


def _failed(gate) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {c.name: c.evidence for c in gate.checks if not c.passed}


def test_clean_data_from_the_same_process_passes() -> None:
    gate = data_gate(generate(2000, seed=3), generate(2000, seed=4))
    assert gate.passed, gate.markdown()
    assert {c.name for c in gate.checks} == {"schema", "rows", "nulls", "label_balance", "drift"}
    assert not any(d["drifted"] for d in gate.details["drift"].values())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.assign(income=f["income"].astype(object).where(f.index != 3, "lots")),
         "income"),
        (lambda f: f.assign(age=f["age"].where(f.index > 4, 7)), "age"),
        (lambda f: f.assign(region=f["region"].where(f.index > 2, "mars")), "region"),
        (lambda f: f.drop(columns=["debt_ratio"]), "debt_ratio"),
        (lambda f: f.assign(ssn="123"), "ssn"),
        (lambda f: f.assign(defaulted=f["defaulted"].where(f.index > 0, 2)), "defaulted"),
    ],
    ids=["string-in-a-number", "age-out-of-range", "unknown-region", "missing-column",
         "extra-column", "label-not-binary"],
)  # fmt: skip
def test_schema_failures_are_named(change, expected: str) -> None:  # type: ignore[no-untyped-def]
    gate = data_gate(change(generate(500, seed=5)), generate(500, seed=6))
    failed = _failed(gate)
    assert "schema" in failed
    assert expected in failed["schema"]
    skipped = {c.name: c for c in gate.checks}["drift"]
    assert skipped.skipped, "drift is not measured on malformed data"


def test_too_many_nulls_and_too_few_rows() -> None:
    frame = generate(150, seed=7)
    frame.loc[:9, "employment_years"] = np.nan
    failed = _failed(data_gate(frame))
    assert "employment_years" in failed["nulls"]
    assert "150 rows" in failed["rows"]


def test_a_label_with_almost_no_positives_fails_the_balance() -> None:
    frame = generate(1000, seed=8).assign(defaulted=0)
    frame.loc[:10, "defaulted"] = 1
    assert "label_balance" in _failed(data_gate(frame))


def test_drift_names_the_shifted_feature_only() -> None:
    gate = data_gate(generate(2000, seed=9, income_scale=1.6), generate(2000, seed=10))
    failed = _failed(gate)
    assert "income" in failed["drift"]
    drift = gate.details["drift"]
    assert drift["income"]["drifted"]
    assert drift["income"]["p_value"] < 0.01
    assert not drift["age"]["drifted"]
    assert not drift["channel"]["drifted"]


def test_drift_thresholds_are_respected() -> None:
    lenient = DataThresholds(max_drifted_features=1)
    gate = data_gate(generate(2000, seed=9, income_scale=1.6), generate(2000, seed=10), lenient)
    assert gate.passed


def test_psi_of_the_same_distribution_is_near_zero_and_grows_with_shift() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 1, 5000)
    assert psi(ref, rng.normal(0, 1, 5000)) < 0.02
    assert psi(ref, rng.normal(0.5, 1, 5000)) > 0.2
    same = pd.Series(["a", "b"] * 500)
    assert psi_categorical(same, same) == pytest.approx(0.0, abs=1e-9)
    assert psi_categorical(same, pd.Series(["a"] * 900 + ["b"] * 100)) > 0.2


def test_the_markdown_summary_shows_the_verdict_and_evidence() -> None:
    gate = data_gate(generate(2000, seed=9, income_scale=1.6), generate(2000, seed=10))
    text = gate.markdown()
    assert text.startswith("### data gate: FAILED")
    assert "| drift | **FAIL** |" in text
    assert "income (PSI" in text
