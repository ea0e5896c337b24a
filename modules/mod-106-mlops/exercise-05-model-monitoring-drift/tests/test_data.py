"""The generator drifts exactly as asked, and bad input files get one clear error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from driftwatch import data
from driftwatch.errors import DataError


def test_same_seed_same_window_and_columns() -> None:
    a = data.generate(300, seed=1)
    b = data.generate(300, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == [*data.FEATURES, data.TARGET]
    assert set(a[data.TARGET].unique()) == {0, 1}
    assert not a.isna().any().any()


def test_scenarios_change_what_they_say() -> None:
    base = data.generate(4000, seed=2)
    shifted = data.generate(4000, seed=2, drift=data.scenario("covariate"))
    assert shifted["credit_score"].mean() < base["credit_score"].mean() - 50
    assert abs(shifted["age"].mean() - base["age"].mean()) < 1  # untouched features stay

    new = data.generate(4000, seed=2, drift=data.scenario("new_category"))
    assert {"central"} <= set(new["region"])
    assert "central" not in set(base["region"])

    holes = data.generate(4000, seed=2, drift=data.scenario("missing"))
    assert holes["income"].isna().mean() == pytest.approx(0.35, abs=0.03)

    concept = data.generate(4000, seed=2, drift=data.scenario("concept"))
    pd.testing.assert_frame_equal(concept[list(data.FEATURES)], base[list(data.FEATURES)])
    assert (concept[data.TARGET] != base[data.TARGET]).mean() > 0.1  # only the labels moved


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"shift": {"nope": 1.0}}, "unknown feature 'nope'"),
        ({"shift": {"region": 1.0}}, "categorical"),
        ({"missing": {"age": 1.0}}, r"\[0, 1\)"),
        ({"new_categories": {"age": (("x",), 0.1)}}, "categorical column"),
        ({"concept": 2.0}, "concept drift"),
    ],
)
def test_bad_drift_specs_are_refused(spec: dict[str, object], message: str) -> None:
    with pytest.raises(DataError, match=message):
        data.DriftSpec(**spec)  # type: ignore[arg-type]


def test_unknown_scenario_lists_the_known_ones() -> None:
    with pytest.raises(DataError, match="covariate"):
        data.scenario("tsunami")


def test_load_csv_errors_name_the_file_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        data.load_csv(tmp_path / "absent.csv")
    frame = data.generate(20, seed=3)
    frame.drop(columns=["income"]).to_csv(tmp_path / "cols.csv", index=False)
    with pytest.raises(DataError, match=r"cols\.csv: missing column\(s\) income"):
        data.load_csv(tmp_path / "cols.csv")
    bad = frame.astype({"age": object})
    bad.loc[4, "age"] = "forty"
    bad.to_csv(tmp_path / "types.csv", index=False)
    with pytest.raises(DataError, match="'age' must be numeric, found 'forty' in 1 row"):
        data.load_csv(tmp_path / "types.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="not a readable CSV"):
        data.load_csv(tmp_path / "empty.csv")
    frame.head(0).to_csv(tmp_path / "header.csv", index=False)
    with pytest.raises(DataError, match="no rows"):
        data.load_csv(tmp_path / "header.csv")
    frame.drop(columns=[data.TARGET]).to_csv(tmp_path / "nolabel.csv", index=False)
    assert len(data.load_csv(tmp_path / "nolabel.csv")) == 20
    with pytest.raises(DataError, match="default"):
        data.load_csv(tmp_path / "nolabel.csv", require_target=True)
