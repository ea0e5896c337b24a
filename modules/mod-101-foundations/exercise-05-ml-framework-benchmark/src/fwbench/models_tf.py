"""The three benchmark models in Keras 3 (TensorFlow backend): the layers of
:mod:`fwbench.models_torch`, in Keras's channels-last layout.

The CNN takes NHWC images (TensorFlow's CPU convolutions do not run NCHW): the runner
transposes each batch once, before any timing. The parameter counts equal PyTorch's for the
CNN and the Transformer (Keras's ``MultiHeadAttention`` has the same projections and biases).
The LSTM has 512 fewer (0.49 %): a Keras ``LSTM`` has one bias vector per gate where
``torch.nn.LSTM`` (following cuDNN) has two.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras

from fwbench.data import CLASSES, IMAGE_SIZE, SEQ_LEN, VOCAB
from fwbench.models_torch import ARCH, MODELS


@keras.saving.register_keras_serializable(package="fwbench")
class PositionEmbedding(keras.layers.Layer):  # type: ignore[misc]
    """Learned positions added to the token embeddings (``nn.Parameter`` in torch)."""

    def __init__(self, length: int, dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.length, self.dim = length, dim

    def build(self, input_shape: Any) -> None:
        init = keras.initializers.RandomNormal(stddev=0.02)
        self.pos = self.add_weight(shape=(self.length, self.dim), initializer=init, name="pos")

    def call(self, x: Any) -> Any:
        return x + self.pos


def _cnn() -> keras.Model:
    a = ARCH["cnn"]
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
    h = keras.layers.Conv2D(a["c1"], 3, padding="same", activation="relu")(inputs)
    h = keras.layers.MaxPooling2D(2)(h)
    h = keras.layers.Conv2D(a["c2"], 3, padding="same", activation="relu")(h)
    h = keras.layers.MaxPooling2D(2)(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(a["hidden"], activation="relu")(h)
    return keras.Model(inputs, keras.layers.Dense(CLASSES)(h), name="cnn")


def _transformer() -> keras.Model:
    a = ARCH["transformer"]
    d = a["d_model"]
    inputs = keras.Input((SEQ_LEN,), dtype="int32")
    h = keras.layers.Embedding(VOCAB, d)(inputs)
    h = PositionEmbedding(SEQ_LEN, d)(h)
    for _ in range(a["layers"]):  # post-norm, like torch's default encoder layer
        attn = keras.layers.MultiHeadAttention(a["heads"], d // a["heads"])(h, h)
        h = keras.layers.LayerNormalization(epsilon=1e-5)(h + attn)
        ff = keras.layers.Dense(a["ff"], activation="relu")(h)
        h = keras.layers.LayerNormalization(epsilon=1e-5)(h + keras.layers.Dense(d)(ff))
    h = keras.layers.GlobalAveragePooling1D()(h)
    return keras.Model(inputs, keras.layers.Dense(CLASSES)(h), name="transformer")


def _lstm() -> keras.Model:
    a = ARCH["lstm"]
    inputs = keras.Input((SEQ_LEN,), dtype="int32")
    h = keras.layers.Embedding(VOCAB, a["embed"])(inputs)
    h = keras.layers.LSTM(a["hidden"])(h)
    return keras.Model(inputs, keras.layers.Dense(CLASSES)(h), name="lstm")


def build(name: str, seed: int = 0) -> keras.Model:
    """A freshly initialised model ``name`` (one of :data:`~fwbench.models_torch.MODELS`)."""
    builders = {"cnn": _cnn, "transformer": _transformer, "lstm": _lstm}
    if name not in builders:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    keras.utils.set_random_seed(seed)
    return builders[name]()


def param_count(model: keras.Model) -> int:
    """Trainable parameters."""
    return int(sum(int(w.numpy().size) for w in model.trainable_weights))
