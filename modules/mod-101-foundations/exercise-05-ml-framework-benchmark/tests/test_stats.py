from __future__ import annotations

import math

import pytest
from fwbench.stats import per_second, summarize


def test_quartiles_use_linear_interpolation() -> None:
    s = summarize([4.0, 1.0, 3.0, 2.0])
    assert s["n"] == 4
    assert s["median"] == s["p50"] == 2.5
    assert s["q1"] == 1.75
    assert s["q3"] == 3.25
    assert s["iqr"] == 1.5
    assert (s["min"], s["max"], s["mean"]) == (1.0, 4.0, 2.5)


def test_p99_of_one_to_a_hundred() -> None:
    s = summarize([float(i) for i in range(1, 101)])
    assert s["p99"] == pytest.approx(99.01)
    assert s["median"] == 50.5


def test_one_sample_has_no_spread() -> None:
    s = summarize([0.25])
    assert s["median"] == s["p99"] == 0.25
    assert s["iqr"] == 0.0


@pytest.mark.parametrize("bad", [[], [1.0, math.nan], [math.inf]])
def test_unmeasured_values_never_become_numbers(bad: list[float]) -> None:
    with pytest.raises(ValueError, match=r"no samples|NaN or infinity"):
        summarize(bad)


def test_per_second() -> None:
    assert per_second(64, 0.5) == 128.0
    assert math.isnan(per_second(64, 0.0))
