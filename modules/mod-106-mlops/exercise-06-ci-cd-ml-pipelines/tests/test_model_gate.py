"""The model gate: thresholds, no regression, slices, invariance, direction, budgets."""

from __future__ import annotations

from typing import Any

import numpy as np
from mlcicd.config import ModelThresholds
from mlcicd.data import FEATURES, LABEL, generate
from mlcicd.faults import plant
from mlcicd.gates import latency_p95_ms, model_gate, model_metrics
from mlcicd.stages import TrainParams, build_model


def _failed(gate: Any) -> set[str]:
    return {c.name for c in gate.checks if not c.passed}


def test_a_good_model_passes_every_check(fitted: Any) -> None:
    gate = model_gate(fitted.model, fitted.test, baseline={"roc_auc": 0.85})
    assert gate.passed, gate.markdown()
    names = {c.name for c in gate.checks}
    assert names == {"roc_auc", "f1", "no_regression", "slices", "invariance_channel",
                     "directional_income", "directional_debt", "latency", "size"}  # fmt: skip
    assert gate.details["metrics"]["roc_auc"] > 0.8


def test_a_crippled_model_fails_thresholds_regression_and_slices(fitted: Any) -> None:
    params = TrainParams(model="random_forest", max_depth=1, n_estimators=1)
    weak = build_model(params).fit(fitted.train[list(FEATURES)], fitted.train[LABEL])
    gate = model_gate(weak, fitted.test, baseline={"roc_auc": 0.87})
    assert {"roc_auc", "no_regression", "slices"} <= _failed(gate)


def test_a_small_regression_against_production_fails(fitted: Any) -> None:
    current = model_metrics(fitted.model, fitted.test)["roc_auc"]
    gate = model_gate(fitted.model, fitted.test, baseline={"roc_auc": current + 0.02})
    assert _failed(gate) == {"no_regression"}
    first = model_gate(fitted.model, fitted.test, baseline=None)
    assert {c.name: c.skipped for c in first.checks}["no_regression"]


def test_a_model_that_learned_the_channel_fails_invariance(fitted: Any) -> None:
    leaky = generate(1500, seed=11)
    leaky[LABEL] = (leaky["channel"] == "phone").astype(int)  # a spurious shortcut
    model = build_model(TrainParams()).fit(leaky[list(FEATURES)], leaky[LABEL])
    assert "invariance_channel" in _failed(model_gate(model, fitted.test))


def test_a_model_that_learned_income_backwards_fails_the_direction(fitted: Any) -> None:
    flipped = fitted.train.assign(income=fitted.train["income"].max() - fitted.train["income"])
    model = build_model(TrainParams()).fit(flipped[list(FEATURES)], flipped[LABEL])
    failed = _failed(model_gate(model, fitted.test))
    assert "directional_income" in failed
    assert "directional_debt" not in failed


def test_latency_and_size_budgets(fitted: Any) -> None:
    assert latency_p95_ms(plant(fitted.model, "slow"), fitted.test, calls=4) > 400
    assert latency_p95_ms(fitted.model, fitted.test, calls=20) < 400
    tight = ModelThresholds(max_size_mb=0.0001, max_latency_p95_ms=0.0001)
    gate = model_gate(fitted.model, fitted.test, thresholds=tight)
    assert _failed(gate) == {"latency", "size"}
    assert gate.details["size_mb"] > 0.0001


def test_metrics_include_every_region_slice(fitted: Any) -> None:
    m = model_metrics(fitted.model, fitted.test)
    assert {f"roc_auc_{r}" for r in ("north", "south", "east", "west")} <= set(m)
    assert all(0 <= v <= 1 for v in m.values())
    assert np.isfinite(list(m.values())).all()
