"""The three benchmark models in JAX with Equinox: the same layers as :mod:`fwbench.models_torch`.

Equinox layers act on one example; each model ``vmap``s itself over the batch, so
``model(x)`` takes a batch like the torch models do. Two details keep the parameter counts
equal to PyTorch's: the attention projections carry biases (``nn.MultiheadAttention`` has
them), and the LSTM cell has two bias vectors (``eqx.nn.LSTMCell`` has one), see :class:`LSTMCell`.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from fwbench.data import CLASSES, IMAGE_SIZE, SEQ_LEN, VOCAB
from fwbench.models_torch import ARCH, MODELS


class CNN(eqx.Module):
    """Two conv blocks and a two-layer head for 3x32x32 images (NCHW, like torch)."""

    conv1: eqx.nn.Conv2d
    conv2: eqx.nn.Conv2d
    pool: eqx.nn.MaxPool2d
    fc1: eqx.nn.Linear
    fc2: eqx.nn.Linear

    def __init__(self, key: jax.Array) -> None:
        a = ARCH["cnn"]
        k1, k2, k3, k4 = jax.random.split(key, 4)
        self.conv1 = eqx.nn.Conv2d(3, a["c1"], 3, padding=1, key=k1)
        self.conv2 = eqx.nn.Conv2d(a["c1"], a["c2"], 3, padding=1, key=k2)
        self.pool = eqx.nn.MaxPool2d(2, stride=2)
        self.fc1 = eqx.nn.Linear(a["c2"] * (IMAGE_SIZE // 4) ** 2, a["hidden"], key=k3)
        self.fc2 = eqx.nn.Linear(a["hidden"], CLASSES, key=k4)

    def one(self, x: jax.Array) -> jax.Array:
        h = self.pool(jax.nn.relu(self.conv1(x)))
        h = self.pool(jax.nn.relu(self.conv2(h)))
        return self.fc2(jax.nn.relu(self.fc1(h.reshape(-1))))

    def __call__(self, x: jax.Array) -> jax.Array:
        return jax.vmap(self.one)(x)


class EncoderLayer(eqx.Module):
    """Post-norm encoder layer: ``x = norm1(x + attn(x)); x = norm2(x + ff(x))``."""

    attn: eqx.nn.MultiheadAttention
    norm1: eqx.nn.LayerNorm
    norm2: eqx.nn.LayerNorm
    ff1: eqx.nn.Linear
    ff2: eqx.nn.Linear

    def __init__(self, d_model: int, heads: int, ff: int, key: jax.Array) -> None:
        k1, k2, k3 = jax.random.split(key, 3)
        self.attn = eqx.nn.MultiheadAttention(
            heads,
            d_model,
            use_query_bias=True,
            use_key_bias=True,
            use_value_bias=True,
            use_output_bias=True,
            key=k1,
        )
        self.norm1 = eqx.nn.LayerNorm(d_model)
        self.norm2 = eqx.nn.LayerNorm(d_model)
        self.ff1 = eqx.nn.Linear(d_model, ff, key=k2)
        self.ff2 = eqx.nn.Linear(ff, d_model, key=k3)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = jax.vmap(self.norm1)(x + self.attn(x, x, x))
        y = jax.vmap(self.ff2)(jax.nn.relu(jax.vmap(self.ff1)(x)))
        return jax.vmap(self.norm2)(x + y)


class Transformer(eqx.Module):
    """A two-layer encoder over token + position embeddings, mean-pooled."""

    embed: eqx.nn.Embedding
    pos: jax.Array
    layers: list[EncoderLayer]
    head: eqx.nn.Linear

    def __init__(self, key: jax.Array) -> None:
        a = ARCH["transformer"]
        keys = jax.random.split(key, a["layers"] + 3)
        self.embed = eqx.nn.Embedding(VOCAB, a["d_model"], key=keys[0])
        self.pos = jax.random.normal(keys[1], (SEQ_LEN, a["d_model"])) * 0.02
        self.layers = [EncoderLayer(a["d_model"], a["heads"], a["ff"], k) for k in keys[2:-1]]
        self.head = eqx.nn.Linear(a["d_model"], CLASSES, key=keys[-1])

    def one(self, tokens: jax.Array) -> jax.Array:
        h = jax.vmap(self.embed)(tokens) + self.pos
        for layer in self.layers:
            h = layer(h)
        return self.head(h.mean(axis=0))

    def __call__(self, tokens: jax.Array) -> jax.Array:
        return jax.vmap(self.one)(tokens)


class LSTMCell(eqx.Module):
    """An LSTM cell laid out like ``torch.nn.LSTM``: gates i, f, g, o; two bias vectors."""

    weight_ih: jax.Array
    weight_hh: jax.Array
    bias_ih: jax.Array
    bias_hh: jax.Array

    def __init__(self, inputs: int, hidden: int, key: jax.Array) -> None:
        bound = 1.0 / hidden**0.5  # torch's init: U(-1/sqrt(h), 1/sqrt(h)) for every tensor
        k = jax.random.split(key, 4)
        self.weight_ih = jax.random.uniform(k[0], (4 * hidden, inputs), minval=-bound, maxval=bound)
        self.weight_hh = jax.random.uniform(k[1], (4 * hidden, hidden), minval=-bound, maxval=bound)
        self.bias_ih = jax.random.uniform(k[2], (4 * hidden,), minval=-bound, maxval=bound)
        self.bias_hh = jax.random.uniform(k[3], (4 * hidden,), minval=-bound, maxval=bound)

    def __call__(
        self, carry: tuple[jax.Array, jax.Array], x: jax.Array
    ) -> tuple[tuple[jax.Array, jax.Array], None]:
        h, c = carry
        gates = self.weight_ih @ x + self.bias_ih + self.weight_hh @ h + self.bias_hh
        i, f, g, o = jnp.split(gates, 4)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), None


class LSTM(eqx.Module):
    """An embedding, one LSTM layer (``lax.scan`` over time) and a linear head."""

    embed: eqx.nn.Embedding
    cell: LSTMCell
    head: eqx.nn.Linear
    hidden: int = eqx.field(static=True)

    def __init__(self, key: jax.Array) -> None:
        a = ARCH["lstm"]
        k1, k2, k3 = jax.random.split(key, 3)
        self.embed = eqx.nn.Embedding(VOCAB, a["embed"], key=k1)
        self.cell = LSTMCell(a["embed"], a["hidden"], k2)
        self.head = eqx.nn.Linear(a["hidden"], CLASSES, key=k3)
        self.hidden = a["hidden"]

    def one(self, tokens: jax.Array) -> jax.Array:
        xs = jax.vmap(self.embed)(tokens)
        zeros = jnp.zeros(self.hidden)
        cell = self.cell
        (h, _), _ = jax.lax.scan(lambda carry, x: cell(carry, x), (zeros, zeros), xs)
        return self.head(h)

    def __call__(self, tokens: jax.Array) -> jax.Array:
        return jax.vmap(self.one)(tokens)


def build(name: str, seed: int = 0) -> Any:
    """A freshly initialised model ``name`` (one of :data:`~fwbench.models_torch.MODELS`)."""
    classes: dict[str, Any] = {"cnn": CNN, "transformer": Transformer, "lstm": LSTM}
    if name not in classes:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return classes[name](jax.random.PRNGKey(seed))


def param_count(model: Any) -> int:
    """Parameters: the sizes of every inexact array leaf."""
    leaves = jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))
    return int(sum(leaf.size for leaf in leaves))
