"""The model learns something, and the degradations move what they should."""

from __future__ import annotations

import numpy as np
from modelmon.model import FraudModel, generate, psi, reference_bins, train


def _acc_and_positive(model: FraudModel, drift: float, concept: float) -> tuple[float, float]:
    x, y = generate(5000, seed=3, drift=drift, concept=concept)
    predicted = (model.score(x) >= 0.5).astype(int)
    return float(np.mean(predicted == y)), float(predicted.mean())


def test_training_is_deterministic_and_beats_the_majority_class(model: FraudModel) -> None:
    again = train(version="1.0.0", seed=11)
    np.testing.assert_allclose(again.weights, model.weights)
    _x, y = generate(5000, seed=3)
    majority = max(y.mean(), 1 - y.mean())
    accuracy, _ = _acc_and_positive(model, 0, 0)
    assert accuracy > majority + 0.02
    assert model.reference_accuracy > 0.7
    assert 0.05 < model.reference_positive_rate < 0.4
    assert set(model.ranges) == {"amount", "account_age_days", "txn_last_hour", "hour"}


def test_input_drift_moves_predictions_and_concept_drift_costs_accuracy(model: FraudModel) -> None:
    base_acc, base_pos = _acc_and_positive(model, 0, 0)
    _, drift_pos = _acc_and_positive(model, 0.6, 0)
    concept_acc, concept_pos = _acc_and_positive(model, 0.6, 0.6)
    assert drift_pos > base_pos + 0.2
    assert concept_acc < base_acc - 0.15
    assert concept_pos == drift_pos  # same inputs, same predictions: only the truth moved


def test_psi_is_zero_for_the_training_distribution_and_sees_a_change_of_shape() -> None:
    """Same data: PSI ~ 0. The same mean with another shape (every value at the two ends of
    the range): mean and stddev-based checks see little, PSI sees it."""
    x, _ = generate(20_000, seed=3)
    edges, expected = reference_bins(x[:, 3])  # hour: discrete, ties merged
    assert abs(expected.sum() - 1) < 1e-9
    same, _ = generate(5_000, seed=4)
    assert psi(same[:, 3], edges, expected) < 0.02
    mean = float(x[:, 3].mean())
    ends = np.where(np.arange(5_000) % 2 == 0, 0.0, 2 * mean)  # same mean, other shape
    assert abs(float(ends.mean()) - mean) < 0.01
    assert psi(ends, edges, expected) > 1.0
