from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mlapi import model as model_lib
from mlapi.data import load_dataset, split
from mlapi.errors import InvalidModelError, ModelNotFoundError


def test_trained_model_generalises_to_held_out_flowers(trained: model_lib.TrainedModel) -> None:
    _, test = split(load_dataset())
    assert model_lib.accuracy(trained.net, test) >= 0.9
    assert trained.metadata.test_accuracy >= 0.9


def test_the_serving_function_equals_the_module(trained: model_lib.TrainedModel) -> None:
    rows = torch.rand(64, 4) * 8
    with torch.inference_mode():
        expected = torch.softmax(trained.net(rows), dim=1)
    served = trained.net.probabilities_fn()(rows)  # as the server calls it: no context
    assert not served.requires_grad, "serving must not record an autograd graph"
    assert torch.allclose(served, expected, atol=1e-6)


def test_same_seed_same_weights_and_version() -> None:
    train, test = split(load_dataset())
    first = model_lib.train(train, test, epochs=20, seed=11)
    second = model_lib.train(train, test, epochs=20, seed=11)
    other = model_lib.train(train, test, epochs=20, seed=12)
    assert first.version == second.version
    assert first.version != other.version


def test_save_then_load_predicts_the_same(tmp_path: Path, trained: model_lib.TrainedModel) -> None:
    model_lib.save(trained, tmp_path / "m")
    loaded = model_lib.load(tmp_path / "m")
    rows = load_dataset().x[:10]
    _, before = model_lib.Predictor(trained).predict_proba(rows)
    version, after = model_lib.Predictor(loaded).predict_proba(rows)
    assert version == trained.version
    np.testing.assert_allclose(before, after, rtol=1e-6)
    np.testing.assert_allclose(after.sum(axis=1), 1.0, rtol=1e-5)


def test_save_keeps_the_replaced_model_and_rollback_brings_it_back(
    tmp_path: Path, trained: model_lib.TrainedModel
) -> None:
    target = tmp_path / "m"
    model_lib.save(trained, target)
    with pytest.raises(ModelNotFoundError, match="nothing to roll back to"):
        model_lib.rollback(target)
    other = model_lib.train(*split(load_dataset(), seed=0), epochs=20, seed=99)
    model_lib.save(other, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "m.previous"]  # no temp leftovers
    assert model_lib.load(target).version == other.version
    assert model_lib.rollback(target) == (other.version, trained.version)
    assert model_lib.load(target).version == trained.version
    assert model_lib.load(model_lib.previous_dir(target)).version == other.version


def test_a_broken_previous_model_is_not_rolled_back_to(
    tmp_path: Path, trained: model_lib.TrainedModel
) -> None:
    target = tmp_path / "m"
    model_lib.save(trained, target)
    model_lib.save(trained, target)
    (model_lib.previous_dir(target) / model_lib.WEIGHTS).write_bytes(b"not a model")
    with pytest.raises(InvalidModelError):
        model_lib.rollback(target)
    assert model_lib.load(target).version == trained.version  # untouched


def test_load_without_model_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="run `mlapi train`"):
        model_lib.load(tmp_path)


def test_corrupt_weights_are_reported(tmp_path: Path, trained: model_lib.TrainedModel) -> None:
    target = model_lib.save(trained, tmp_path / "m")
    (target / model_lib.WEIGHTS).write_bytes(b"not a torch file")
    with pytest.raises(InvalidModelError, match="valid model"):
        model_lib.load(target)


def test_tampered_metadata_version_is_detected(
    tmp_path: Path, trained: model_lib.TrainedModel
) -> None:
    target = model_lib.save(trained, tmp_path / "m")
    meta = json.loads((target / model_lib.METADATA).read_text())
    meta["version"] = "000000000000"
    (target / model_lib.METADATA).write_text(json.dumps(meta))
    with pytest.raises(InvalidModelError, match="do not match"):
        model_lib.load(target)


def test_swap_returns_the_previous_model(trained: model_lib.TrainedModel) -> None:
    train, test = split(load_dataset())
    other = model_lib.train(train, test, epochs=5, seed=99)
    predictor = model_lib.Predictor(trained)
    assert predictor.swap(other) is trained
    assert predictor.model is other
