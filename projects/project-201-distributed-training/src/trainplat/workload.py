"""The workload the platform trains: generated tabular data and an MLP.

The data are Gaussian class clusters pushed through a fixed random non-linear map, so a linear
model is not enough and a deeper/wider MLP helps: something for Ray Tune to find.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import TensorDataset


def make_data(n: int, *, features: int, classes: int, noise: float, seed: int) -> TensorDataset:
    """``n`` rows of ``features`` floats with labels in ``range(classes)``; same seed, same rows."""
    gen = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, features, generator=gen) * 0.7
    mixing = torch.randn(features, features, generator=gen) / features**0.5
    labels = torch.randint(0, classes, (n,), generator=gen)
    latent = centers[labels] + noise * torch.randn(n, features, generator=gen)
    rows = torch.tanh(latent @ mixing) + 0.1 * latent
    return TensorDataset(rows.float(), labels)


def split(
    samples: int, val_samples: int, *, features: int, classes: int, noise: float, seed: int
) -> tuple[TensorDataset, TensorDataset]:
    """Train and validation sets drawn from the same distribution (one draw, then cut)."""
    full = make_data(
        samples + val_samples, features=features, classes=classes, noise=noise, seed=seed
    )
    x, y = full.tensors
    return TensorDataset(x[:samples], y[:samples]), TensorDataset(x[samples:], y[samples:])


def mlp(features: int, classes: int, hidden: int, layers: int) -> nn.Sequential:
    """``layers`` hidden layers of ``hidden`` units with ReLU."""
    parts: list[nn.Module] = []
    width = features
    for _ in range(layers):
        parts += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    parts.append(nn.Linear(width, classes))
    return nn.Sequential(*parts)
