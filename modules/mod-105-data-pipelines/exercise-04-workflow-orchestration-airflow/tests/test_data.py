"""The data rules, as plain functions (no Airflow)."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflowml.data import LABEL, generate, mean_shift, read_table, require_valid, validate
from airflowml.errors import AirflowmlError, DataValidationError


def test_generation_is_reproducible_and_valid() -> None:
    first, second = generate(500, 3), generate(500, 3)
    assert first.equals(second)
    assert not first.equals(generate(500, 4))
    report = validate(first)
    assert report.ok, report.reasons
    assert 0.1 < first[LABEL].mean() < 0.6  # both classes, neither rare


def test_nulls_are_refused_with_their_count() -> None:
    frame = generate(1000, 1, inject_nulls=0.1)
    nulls = int(frame["monthly_charges"].isna().sum())
    assert nulls > 0
    with pytest.raises(DataValidationError) as caught:
        require_valid(frame, "today.csv")
    assert f"monthly_charges: {nulls} nulls" in caught.value.reasons
    assert require_valid(generate(300, 1), "good.csv").ok
    assert "today.csv failed validation" in str(caught.value)


def test_every_broken_rule_is_reported() -> None:
    frame = generate(300, 2)
    frame.loc[0, "age"] = 7
    frame.loc[1, "contract"] = "lifetime"
    frame.loc[2, "customer_id"] = frame.loc[3, "customer_id"]
    frame.loc[4, "tenure_months"] = 1.5
    reasons = validate(frame.drop(columns=["usage_gb"])).reasons
    assert "missing columns: usage_gb" in reasons
    assert "age: 1 values outside [18, 110]" in reasons
    assert "contract: unknown values lifetime" in reasons
    assert "customer_id: 1 duplicates" in reasons
    assert "tenure_months: non-integer values" in reasons


def test_labels_must_be_binary_with_both_classes() -> None:
    frame = generate(200, 5)
    frame[LABEL] = 1
    assert "churned: only one class present" in validate(frame).reasons
    frame.loc[0, LABEL] = 3
    assert "churned: values other than 0/1" in validate(frame).reasons
    # A batch to score has no label, and need not.
    assert validate(generate(200, 5, with_label=False), require_label=False).ok
    assert not validate(generate(200, 5, with_label=False)).ok


def test_empty_and_unreadable_files(tmp_path: Path) -> None:
    assert validate(generate(100, 1).iloc[:0]).reasons == ["the table has no rows"]
    with pytest.raises(AirflowmlError, match="no such data file"):
        read_table(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(AirflowmlError, match="not a readable CSV"):
        read_table(empty)


def test_bad_generation_arguments_are_refused() -> None:
    with pytest.raises(AirflowmlError, match="n_rows"):
        generate(10)
    with pytest.raises(AirflowmlError, match="label_noise"):
        generate(100, label_noise=2)


def test_mean_shift_measures_drift_in_reference_std_devs() -> None:
    reference = generate(3000, 1)
    assert all(abs(v) < 0.15 for v in mean_shift(reference, generate(3000, 2)).values())
    drifted = mean_shift(reference, generate(3000, 2, drift=2.0))
    assert drifted["monthly_charges"] > 1.0
    assert drifted["usage_gb"] > 1.0
    assert abs(drifted["age"]) < 0.15
