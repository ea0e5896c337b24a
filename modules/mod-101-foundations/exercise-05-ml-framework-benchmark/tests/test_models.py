"""The same models in both frameworks: equal parameter counts, and each one learns."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from fwbench import data, models_jax, models_torch
from fwbench.runners import make_runner

HAS_TF = importlib.util.find_spec("tensorflow") is not None
needs_tf = pytest.mark.skipif(
    not HAS_TF, reason="TensorFlow not installed: pip install 'aiinfra-fwbench[tensorflow]'"
)


@pytest.mark.parametrize("model", models_torch.MODELS)
def test_parameter_counts_match_across_frameworks(model: str) -> None:
    torch_n = models_torch.param_count(models_torch.build(model))
    jax_n = models_jax.param_count(models_jax.build(model))
    assert abs(torch_n - jax_n) / torch_n <= 0.01
    assert torch_n == jax_n  # the layers are the same, so the counts are exact


@needs_tf
@pytest.mark.parametrize("model", models_torch.MODELS)
def test_keras_parameter_counts_are_within_one_percent(model: str) -> None:
    from fwbench import models_tf

    torch_n = models_torch.param_count(models_torch.build(model))
    keras_n = models_tf.param_count(models_tf.build(model))
    assert abs(torch_n - keras_n) / torch_n <= 0.01
    if model == "lstm":  # Keras's LSTM has one bias vector per gate, torch's two
        assert torch_n - keras_n == 4 * models_torch.ARCH["lstm"]["hidden"]
    else:
        assert torch_n == keras_n


@pytest.mark.parametrize("framework", ["torch", "jax", pytest.param("tensorflow", marks=needs_tf)])
@pytest.mark.parametrize("model", models_torch.MODELS)
def test_each_model_learns_the_synthetic_task(framework: str, model: str) -> None:
    runner = make_runner(framework, model)
    dataset = data.for_model(model, 2048)
    x0, y0 = dataset.batch(0, 64)
    runner.compile_train(runner.to_input(x0), runner.to_labels(y0))
    losses = []
    for i in range(60):
        x, y = dataset.batch(i, 64)
        losses.append(runner.train_step(runner.to_input(x), runner.to_labels(y)))
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5]), losses


def test_the_data_is_the_same_for_every_framework() -> None:
    a, b = data.images(8, seed=3), data.images(8, seed=3)
    assert np.array_equal(a.x, b.x)
    assert np.array_equal(a.y, b.y)
    seqs = data.sequences(32, seed=1)
    assert seqs.x.dtype == np.int32
    assert seqs.x.shape == (32, data.SEQ_LEN)
    # every sequence carries its label token, and no other class token
    for row, label in zip(seqs.x, seqs.y, strict=True):
        assert label in row
        assert set(row[row < data.CLASSES]) == {label}


def test_torch_compile_gives_the_eager_logits() -> None:
    eager = make_runner("torch", "cnn")
    compiled = make_runner("torch-compile", "cnn")
    x = data.images(4).x
    np.testing.assert_allclose(
        compiled.logits(compiled.to_input(x)), eager.logits(eager.to_input(x)), rtol=1e-4, atol=1e-5
    )


def test_unknown_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        models_torch.build("resnet")
    with pytest.raises(ValueError, match="unknown framework"):
        make_runner("mxnet", "cnn")
