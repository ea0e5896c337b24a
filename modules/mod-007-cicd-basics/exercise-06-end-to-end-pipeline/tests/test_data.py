"""Ingest and validation: what is accepted, what is quarantined and why, what fails the stage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from e2epipe.data import FEATURES, LABEL, generate, ingest, validate, write
from e2epipe.errors import E2epipeError


def test_generated_data_is_reproducible_and_learnable_shaped() -> None:
    a, b = generate(1000, seed=5), generate(1000, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == [*FEATURES, LABEL]
    assert 0.2 < a[LABEL].mean() < 0.45
    # brand-new customers have no total yet: the nullable column really has nulls
    assert a.loc[a["tenure_months"] == 0, "total_charges"].isna().all()
    assert not generate(1000, seed=6).equals(a)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_csv_and_parquet_round_trip_to_the_same_validated_rows(tmp_path: Path, suffix: str) -> None:
    frame = generate(300, seed=1)
    report = validate(ingest(write(frame, tmp_path / f"d{suffix}")))
    assert report.ok
    assert len(report.accepted) == 300
    assert len(report.rejected) == 0
    np.testing.assert_allclose(
        report.accepted["monthly_charges"].to_numpy(), frame["monthly_charges"].to_numpy()
    )
    assert report.null_counts["total_charges"] == int(frame["total_charges"].isna().sum())


def test_bad_rows_are_quarantined_with_their_reason(tmp_path: Path) -> None:
    frame = generate(500, seed=2)
    frame = frame.astype({"monthly_charges": object, "contract": object, "tenure_months": float})
    frame.loc[0, "age"] = 250
    frame.loc[1, "monthly_charges"] = "n/a"
    frame.loc[2, "monthly_charges"] = np.inf
    frame.loc[3, "contract"] = "lifetime"
    frame.loc[4, "payment_method"] = None
    frame.loc[5, "tenure_months"] = 3.5
    frame.loc[6, LABEL] = 2
    frame.loc[7, "total_charges"] = np.nan  # nullable: accepted
    report = validate(ingest(write(frame, tmp_path / "d.csv")))
    assert report.ok  # 7 of 500 is under the 5% limit
    reasons = dict(zip(report.rejected.index, report.rejected["reason"], strict=True))
    assert reasons == {
        0: "age: outside [18, 100]",
        1: "monthly_charges: not a number",
        2: "monthly_charges: not finite",
        3: "contract: unknown category",
        4: "payment_method: missing",
        5: "tenure_months: not an integer",
        6: "churned: not 0 or 1",
    }
    assert len(report.accepted) == 493
    assert report.summary()["rejected_reasons"]["age: outside [18, 100]"] == 1


def test_duplicates_are_dropped_and_counted() -> None:
    frame = generate(200, seed=3)
    doubled = pd.concat([frame, frame.head(10)], ignore_index=True)
    report = validate(doubled)
    assert report.duplicates_dropped == 10
    assert len(report.accepted) == 200


def test_too_many_bad_rows_fail_the_stage() -> None:
    frame = generate(200, seed=4)
    frame.loc[:19, "age"] = 5
    report = validate(frame, max_reject_fraction=0.05)
    assert not report.ok
    assert "20 of 200 rows (10%)" in report.errors[0]
    assert "age: outside" in report.errors[0]
    assert validate(frame, max_reject_fraction=0.2).ok


def test_one_class_only_fails_the_stage() -> None:
    frame = generate(300, seed=4)
    frame[LABEL] = 0
    report = validate(frame)
    assert report.errors == ["class 1 has 0 rows, at least 20 needed"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("d.txt", b"a,b\n1,2\n", "unsupported data file type '.txt'"),
        ("d.csv", b"", "the file is empty"),
        ("d.csv", b"tenure_months,age\n1,30\n", "missing column(s) monthly_charges"),
        ("d.parquet", b"PAR1 this is not parquet", "cannot read it as parquet"),
        ("d.csv", b"\xff\xfe\x00\x00garbage\x00", "cannot read it as csv"),
    ],
)
def test_unreadable_files_give_one_clear_error(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(E2epipeError) as caught:
        ingest(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(E2epipeError, match="no such data file"):
        ingest(tmp_path / "nope.csv")


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(",".join([*FEATURES, LABEL]) + "\n")
    with pytest.raises(E2epipeError, match="no rows"):
        ingest(path)
