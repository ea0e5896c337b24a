"""The three benchmark models in PyTorch. :mod:`fwbench.models_jax` builds the same layers.

Architectures (shared constants in :data:`ARCH`):

* ``cnn``: conv 3->16 (3x3, pad 1), ReLU, max-pool 2; conv 16->32, ReLU, max-pool 2;
  flatten 32x8x8; linear 2048->64, ReLU; linear 64->10.
* ``transformer``: token embedding 64x64 + learned positions 32x64; two post-norm encoder
  layers (4 heads, feed-forward 128, ReLU, no dropout); mean over positions; linear 64->10.
* ``lstm``: token embedding 64x64; one LSTM layer of 128 units (two bias vectors, like
  cuDNN and ``torch.nn.LSTM``); the last hidden state; linear 128->10.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from fwbench.data import CLASSES, IMAGE_SIZE, SEQ_LEN, VOCAB

MODELS = ("cnn", "transformer", "lstm")

#: Sizes shared by both frameworks' builders.
ARCH: dict[str, dict[str, int]] = {
    "cnn": {"c1": 16, "c2": 32, "hidden": 64},
    "transformer": {"d_model": 64, "heads": 4, "ff": 128, "layers": 2},
    "lstm": {"embed": 64, "hidden": 128},
}


class CNN(nn.Module):
    """Two conv blocks and a two-layer head for 3x32x32 images."""

    def __init__(self) -> None:
        super().__init__()
        a = ARCH["cnn"]
        flat = a["c2"] * (IMAGE_SIZE // 4) ** 2
        self.features = nn.Sequential(
            nn.Conv2d(3, a["c1"], 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(a["c1"], a["c2"], 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Linear(flat, a["hidden"]), nn.ReLU(), nn.Linear(a["hidden"], CLASSES)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.features(x))
        return out


class Transformer(nn.Module):
    """A two-layer encoder over token + position embeddings, mean-pooled."""

    def __init__(self) -> None:
        super().__init__()
        a = ARCH["transformer"]
        self.embed = nn.Embedding(VOCAB, a["d_model"])
        self.pos = nn.Parameter(torch.randn(SEQ_LEN, a["d_model"]) * 0.02)
        layer = nn.TransformerEncoderLayer(
            a["d_model"], a["heads"], a["ff"], dropout=0.0, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, a["layers"], enable_nested_tensor=False)
        self.head = nn.Linear(a["d_model"], CLASSES)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.embed(tokens) + self.pos)
        out: torch.Tensor = self.head(h.mean(dim=1))
        return out


class LSTM(nn.Module):
    """An embedding, one LSTM layer and a linear head on the last hidden state."""

    def __init__(self) -> None:
        super().__init__()
        a = ARCH["lstm"]
        self.embed = nn.Embedding(VOCAB, a["embed"])
        self.lstm = nn.LSTM(a["embed"], a["hidden"], batch_first=True)
        self.head = nn.Linear(a["hidden"], CLASSES)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(self.embed(tokens))
        out: torch.Tensor = self.head(h[-1])
        return out


def build(name: str, seed: int = 0) -> nn.Module:
    """A freshly initialised model ``name`` (one of :data:`MODELS`)."""
    classes: dict[str, Any] = {"cnn": CNN, "transformer": Transformer, "lstm": LSTM}
    if name not in classes:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    torch.manual_seed(seed)
    model: nn.Module = classes[name]()
    return model


def param_count(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
