"""Training and the readiness checklist: it passes a good model and fails a useless one."""

from __future__ import annotations

import numpy as np
import pytest
from e2epipe.config import Params, Thresholds
from e2epipe.data import LABEL, generate, validate
from e2epipe.evaluate import evaluate
from e2epipe.train import train_all
from sklearn.model_selection import train_test_split


def _split(seed: int = 1, shuffle_labels: bool = False):  # type: ignore[no-untyped-def]
    frame = validate(generate(1500, seed=seed)).accepted
    if shuffle_labels:
        frame[LABEL] = np.random.default_rng(0).permutation(frame[LABEL].to_numpy())
    return train_test_split(frame, test_size=0.25, stratify=frame[LABEL], random_state=0)


@pytest.fixture(scope="module")
def good():  # type: ignore[no-untyped-def]
    train, holdout = _split()
    return train_all(train, Params(quick=True)), holdout


def test_every_family_is_searched_and_ranked(good) -> None:  # type: ignore[no-untyped-def]
    candidates, _ = good
    assert {c.name for c in candidates} == {
        "logistic_regression",
        "random_forest",
        "gradient_boosting",
    }
    scores = [c.cv_roc_auc for c in candidates]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 0.8  # the generated label is learnable


def test_a_good_model_passes_every_check(good) -> None:  # type: ignore[no-untyped-def]
    candidates, holdout = good
    evaluation = evaluate(candidates[0], holdout, Thresholds())
    assert evaluation.ready, [c for c in evaluation.checks if not c.passed]
    assert sum(map(sum, evaluation.confusion)) == len(holdout)
    assert evaluation.metrics["roc_auc"] > 0.8
    assert evaluation.metrics["balanced_accuracy"] > 0.7


def test_thresholds_out_of_reach_fail_the_named_checks(good) -> None:  # type: ignore[no-untyped-def]
    candidates, holdout = good
    strict = Thresholds(min_roc_auc=0.999, max_p95_latency_ms=0.0001, max_model_mb=0.0001)
    evaluation = evaluate(candidates[0], holdout, strict)
    failed = {c.name for c in evaluation.checks if not c.passed}
    assert failed == {"roc_auc", "latency", "size"}
    assert not evaluation.ready


def test_a_model_trained_on_noise_is_not_ready() -> None:
    train, holdout = _split(shuffle_labels=True)
    candidates = train_all(train, Params(quick=True, models=["logistic_regression"]))
    evaluation = evaluate(candidates[0], holdout, Thresholds())
    failed = {c.name for c in evaluation.checks if not c.passed}
    assert {"roc_auc", "beats_baseline"} <= failed
    assert abs(evaluation.metrics["roc_auc"] - 0.5) < 0.1
