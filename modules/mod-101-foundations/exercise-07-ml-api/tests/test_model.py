from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mlapi import model as model_lib
from mlapi.data import load_dataset, split
from mlapi.errors import InvalidModelError, ModelNotFoundError


def test_trained_model_generalises_to_held_out_flowers(trained: model_lib.TrainedModel) -> None:
    _, test = split(load_dataset())
    assert model_lib.accuracy(trained.net, test) >= 0.9
    assert trained.metadata.test_accuracy >= 0.9


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


def test_save_replaces_an_existing_model_without_leftovers(
    tmp_path: Path, trained: model_lib.TrainedModel
) -> None:
    target = tmp_path / "m"
    model_lib.save(trained, target)
    model_lib.save(trained, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    assert sorted(p.name for p in target.iterdir()) == [model_lib.METADATA, model_lib.WEIGHTS]


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
