"""Datasets and models without a server: splits, specs, training curves, the torch module."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from exptrack.data import TARGET, Dataset, load_dataset
from exptrack.errors import ExptrackError
from exptrack.models import KINDS, ModelSpec, TabularClassifier, fit


def test_split_is_disjoint_stratified_and_reproducible(data: Dataset) -> None:
    sizes = (len(data.train), len(data.val), len(data.holdout))
    assert sum(sizes) == 569
    assert sizes == (341, 114, 114)
    # No row in two parts (the dataset has no duplicate rows).
    rows = [tuple(r) for part in (data.train, data.val, data.holdout) for r in part.to_numpy()]
    assert len(set(rows)) == len(rows)
    rates = [part[TARGET].mean() for part in (data.train, data.val, data.holdout)]
    assert max(rates) - min(rates) < 0.02
    again = load_dataset("breast_cancer", seed=42)
    assert again.digest == data.digest
    pd.testing.assert_frame_equal(again.holdout, data.holdout)
    assert load_dataset("breast_cancer", seed=7).digest != data.digest


def test_feature_subset_and_bad_names() -> None:
    subset = load_dataset(features=["mean_radius", "mean_texture"])
    assert subset.features == ["mean_radius", "mean_texture"]
    assert list(subset.train.columns) == ["mean_radius", "mean_texture", TARGET]
    with pytest.raises(ExptrackError, match="unknown feature"):
        load_dataset(features=["mean radius"])
    with pytest.raises(ExptrackError, match="unknown dataset"):
        load_dataset("iris")


def test_synthetic_dataset_has_requested_size() -> None:
    synthetic = load_dataset("synthetic", rows=500, seed=1)
    assert len(synthetic.train) + len(synthetic.val) + len(synthetic.holdout) == 500
    assert len(synthetic.features) == 20


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("svm", "", "unknown model kind"),
        ("forest", "depth=3", "no parameter 'depth'"),
        ("forest", "max_depth=three", "must be int"),
        ("logreg", "alpha", "write key=value"),
        ("mlp", "lr=-1", r"must be in \(0, 1\]"),
        ("mlp", "epochs=1000000000", r"mlp.epochs must be in \(0, 10000\]"),
        ("mlp", "hidden=100000000", r"mlp.hidden must be in \(0, 4096\]"),
        ("logreg", "alpha=nan", "must be in"),
        ("gbm", "learning_rate=inf", "must be in"),
    ],
)
def test_bad_specs_are_refused(kind: str, params: str, message: str) -> None:
    with pytest.raises(ExptrackError, match=message):
        ModelSpec.parse(kind, params)


def test_spec_fills_defaults_and_types() -> None:
    spec = ModelSpec.parse("gbm", "n_estimators=20, learning_rate=0.05")
    assert spec.params == {"n_estimators": 20, "learning_rate": 0.05, "max_depth": 2}
    assert isinstance(spec.params["n_estimators"], int)
    assert spec.label == "gbm(n_estimators=20,learning_rate=0.05,max_depth=2)"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_learns_and_reports_each_epoch(kind: str, data: Dataset) -> None:
    small = {
        "logreg": "epochs=10",
        "forest": "n_estimators=30",
        "gbm": "n_estimators=30",
        "mlp": "epochs=15",
    }
    spec = ModelSpec.parse(kind, small[kind])
    seen: list[int] = []
    trained = fit(spec, data, on_epoch=lambda step, _row: seen.append(step))
    expected = {"logreg": 10, "forest": 3, "gbm": 30, "mlp": 15}[kind]
    assert seen == list(range(expected))
    assert len(trained.history) == expected
    assert set(trained.history[0]) == {"train_loss", "val_loss", "val_accuracy"}
    # It learned: the last epoch beats the first on training loss, and validation is good.
    assert trained.history[-1]["train_loss"] < trained.history[0]["train_loss"]
    x, y = data.xy("val")
    assert np.mean(trained.predict(x) == y) > 0.9
    assert set(trained.importances) == set(data.features)
    proba = trained.predict_proba(x)
    assert proba.shape == (len(y),)
    assert ((proba >= 0) & (proba <= 1)).all()


def test_training_is_reproducible(data: Dataset) -> None:
    spec = ModelSpec.parse("mlp", "epochs=5")
    a, b = fit(spec, data, seed=3), fit(spec, data, seed=3)
    assert a.history == b.history


def test_torch_module_standardises_and_returns_labels(data: Dataset) -> None:
    trained = fit(ModelSpec.parse("mlp", "epochs=5"), data)
    module = trained.model
    assert isinstance(module, TabularClassifier)
    x, _ = data.xy("holdout")
    out = module(torch.as_tensor(x.to_numpy(np.float32)))
    assert out.dtype == torch.int64
    assert set(out.unique().tolist()) <= {0, 1}
    # The standardisation lives in buffers: it is saved with the weights.
    assert {"mean", "std"} <= set(dict(module.named_buffers()))
