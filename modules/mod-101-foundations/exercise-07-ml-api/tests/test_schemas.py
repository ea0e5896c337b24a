from __future__ import annotations

import math

import pytest
from mlapi.schemas import MAX_BATCH, Batch, Flower
from pydantic import ValidationError


def test_valid_flower_keeps_feature_order(setosa: dict[str, float]) -> None:
    assert Flower(**setosa).as_row() == [5.1, 3.5, 1.4, 0.2]


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf, 101, "five"])
def test_out_of_range_or_non_numeric_measurements_are_rejected(
    bad: object, setosa: dict[str, float]
) -> None:
    with pytest.raises(ValidationError, match="petal_width_cm"):
        Flower(**{**setosa, "petal_width_cm": bad})


def test_unknown_and_missing_fields_are_rejected(setosa: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        Flower(**setosa, colour="blue")
    with pytest.raises(ValidationError, match="sepal_length_cm"):
        Flower(**{k: v for k, v in setosa.items() if k != "sepal_length_cm"})


def test_batch_size_bounds(setosa: dict[str, float]) -> None:
    assert len(Batch(instances=[Flower(**setosa)] * MAX_BATCH).instances) == MAX_BATCH
    with pytest.raises(ValidationError, match="at most"):
        Batch(instances=[Flower(**setosa)] * (MAX_BATCH + 1))
    with pytest.raises(ValidationError, match="at least 1"):
        Batch(instances=[])
