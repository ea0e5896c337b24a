"""A generated image-classification dataset: noisy strokes in five shapes.

Nothing is downloaded. The same seed gives the same tensors on every machine, which is what
lets two runs with different numbers of workers be compared weight for weight.
"""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

CLASSES = ("horizontal", "vertical", "diagonal", "square", "cross")


def _draw(kind: int, size: int, gen: torch.Generator) -> torch.Tensor:
    img = torch.zeros(size, size)
    lo, hi = 1, size - 1
    span = int(torch.randint(size // 3, size - 2, (1,), generator=gen))
    r0 = int(torch.randint(lo, hi - span + 1, (1,), generator=gen))
    c0 = int(torch.randint(lo, hi - span + 1, (1,), generator=gen))
    mid_r, mid_c = r0 + span // 2, c0 + span // 2
    if kind == 0:
        img[mid_r, c0 : c0 + span] = 1.0
    elif kind == 1:
        img[r0 : r0 + span, mid_c] = 1.0
    elif kind == 2:
        idx = torch.arange(span)
        img[r0 + idx, c0 + idx] = 1.0
    elif kind == 3:
        img[r0, c0 : c0 + span] = 1.0
        img[r0 + span - 1, c0 : c0 + span] = 1.0
        img[r0 : r0 + span, c0] = 1.0
        img[r0 : r0 + span, c0 + span - 1] = 1.0
    else:
        img[mid_r, c0 : c0 + span] = 1.0
        img[r0 : r0 + span, mid_c] = 1.0
    return img


def make_shapes(n: int, *, seed: int, size: int = 16, noise: float = 0.35) -> TensorDataset:
    """``n`` images (``n x 1 x size x size``, float32) with balanced labels in ``CLASSES``.

    Args:
        n: Number of images.
        seed: Generator seed: the same seed gives the same tensors.
        size: Image side in pixels.
        noise: Standard deviation of the Gaussian noise added to every pixel.

    Returns:
        A ``TensorDataset`` of (images, labels).
    """
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % len(CLASSES)
    labels = labels[torch.randperm(n, generator=gen)]
    images = torch.stack([_draw(int(k), size, gen) for k in labels])
    images += noise * torch.randn(images.shape, generator=gen)
    return TensorDataset(images.unsqueeze(1), labels)


def train_val(
    samples: int, val_samples: int, *, seed: int, size: int
) -> tuple[TensorDataset, TensorDataset]:
    """The training and validation sets of a run (disjoint seeds)."""
    return (
        make_shapes(samples, seed=seed, size=size),
        make_shapes(val_samples, seed=seed + 1_000_003, size=size),
    )
