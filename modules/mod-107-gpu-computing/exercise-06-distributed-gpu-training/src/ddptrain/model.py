"""The model: a small CNN with no BatchNorm and no dropout.

Both would break the equivalence between 1 and N workers that the tests check: BatchNorm
normalises with per-worker batch statistics (SyncBatchNorm would fix that at a cost), dropout
draws different masks on each worker.
"""

from __future__ import annotations

import torch
from torch import nn

from ddptrain.data import CLASSES


class ShapesCNN(nn.Module):
    """conv-relu-pool x2, then two linear layers.

    Args:
        width: Channels of the first convolution; the second has ``2 * width``.
        image_size: Side of the input images (divisible by 4).
        classes: Number of output classes.
    """

    def __init__(self, width: int = 16, image_size: int = 16, classes: int = len(CLASSES)):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        flat = 2 * width * (image_size // 4) ** 2
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(flat, 64), nn.ReLU(), nn.Linear(64, classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of ``N x 1 x H x W`` images."""
        logits: torch.Tensor = self.head(self.features(x))
        return logits

    def shard_units(self) -> list[nn.Module]:
        """The layers FSDP shards one by one (each becomes its own all-gather unit)."""
        return [m for m in self.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
