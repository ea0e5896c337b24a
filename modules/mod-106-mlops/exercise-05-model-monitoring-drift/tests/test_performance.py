"""Late labels join onto their predictions; nothing is silently dropped or double counted."""

from __future__ import annotations

import pandas as pd
import pytest
from driftwatch.errors import DataError
from driftwatch.performance import PredictionLog


def _ids(*ids: str) -> pd.Series:
    return pd.Series(list(ids))


def test_performance_uses_only_labels_that_arrived() -> None:
    log = PredictionLog()
    log.add_predictions(0, _ids("a", "b", "c", "d"), pd.Series([1, 0, 1, 0]))
    assert log.performance().labelled == 0
    assert log.performance().accuracy is None

    assert log.add_labels(_ids("a", "b"), pd.Series([1, 1])) == 2
    perf = log.performance()
    assert (perf.predictions, perf.labelled, perf.coverage) == (4, 2, 0.5)
    assert perf.accuracy == 0.5  # a right, b wrong
    assert perf.recall == 0.5
    assert perf.precision == 1.0


def test_windows_are_scored_separately_and_corrections_replace_labels() -> None:
    log = PredictionLog()
    log.add_predictions(0, _ids("a", "b"), pd.Series([1, 1]))
    log.add_predictions(1, _ids("c", "d"), pd.Series([0, 0]))
    log.add_labels(_ids("a", "b", "c", "d"), pd.Series([1, 1, 1, 1]))
    assert log.performance([0]).accuracy == 1.0
    assert log.performance([1]).accuracy == 0.0
    log.add_labels(_ids("c"), pd.Series([0]))  # a corrected label replaces the first
    assert log.performance([1]).accuracy == 0.5
    assert log.performance().labelled == 4  # not 5


def test_orphan_labels_are_counted_not_joined() -> None:
    log = PredictionLog()
    log.add_predictions(0, _ids("a"), pd.Series([1]))
    assert log.add_labels(_ids("a", "zzz"), pd.Series([1, 0])) == 1
    assert log.orphan_labels == 1
    assert log.performance().labelled == 1


def test_bad_input_is_refused_and_keeps_what_was_logged() -> None:
    log = PredictionLog()
    log.add_predictions(0, _ids("a", "b"), pd.Series([1, 0]))
    with pytest.raises(DataError, match="unique"):
        log.add_predictions(1, _ids("b", "c"), pd.Series([1, 0]))
    with pytest.raises(DataError, match="unique"):
        log.add_predictions(1, _ids("x", "x"), pd.Series([1, 0]))
    with pytest.raises(DataError, match="0 or 1"):
        log.add_labels(_ids("a"), pd.Series([2]))
    with pytest.raises(DataError, match="0 or 1"):
        log.add_labels(_ids("a"), pd.Series(["yes"]))
    assert len(log) == 2
    assert log.performance().labelled == 0
