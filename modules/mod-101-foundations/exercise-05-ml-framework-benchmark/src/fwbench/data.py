"""The synthetic tasks every framework trains on: same seed, same arrays, learnable.

* images (CNN): ``(n, 3, 32, 32)`` float32, class ``c`` is a fixed random template for ``c``
  scaled by 0.5 plus unit Gaussian noise, so a small CNN separates the classes in a few dozen
  steps;
* sequences (Transformer, LSTM): ``(n, seq_len)`` int32 tokens drawn from the "noise" tokens
  ``[classes, vocab)``, with up to :data:`MARKS` random positions replaced by the class token
  ``c`` (in ``[0, classes)``): the label is which class token the sequence carries, wherever
  it is.

The arrays are NumPy, built once, and handed to each framework as its own tensor type.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASSES = 10
IMAGE_SIZE = 32
SEQ_LEN = 32
VOCAB = 64
#: How many random positions of a sequence carry its class token (some may coincide).
MARKS = 6


@dataclass(frozen=True)
class Dataset:
    """Inputs and integer labels, ready to slice into batches."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def batch(self, index: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``index``-th batch of ``size`` rows, wrapping around the end."""
        n = len(self)
        rows = (np.arange(size) + index * size) % n
        return self.x[rows], self.y[rows]


def images(n: int, seed: int = 0) -> Dataset:
    """``n`` noisy class-template images (see the module docstring)."""
    rng = np.random.default_rng(seed)
    templates = np.random.default_rng(1234).standard_normal(
        (CLASSES, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32
    )
    y = rng.integers(0, CLASSES, size=n).astype(np.int32)
    noise = rng.standard_normal((n, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    x = (0.5 * templates[y] + noise).astype(np.float32)
    return Dataset(x, y)


def sequences(n: int, seed: int = 0) -> Dataset:
    """``n`` token sequences each carrying one class token (see the module docstring)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(CLASSES, VOCAB, size=(n, SEQ_LEN)).astype(np.int32)
    y = rng.integers(0, CLASSES, size=n).astype(np.int32)
    for _ in range(MARKS):
        where = rng.integers(0, SEQ_LEN, size=n)
        x[np.arange(n), where] = y
    return Dataset(x, y)


def for_model(model: str, n: int, seed: int = 0) -> Dataset:
    """The dataset a model trains on: images for ``cnn``, sequences otherwise."""
    return images(n, seed) if model == "cnn" else sequences(n, seed)
