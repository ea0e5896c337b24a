"""A small residual CNN whose blocks can be checkpointed.

GroupNorm instead of BatchNorm on purpose: a checkpointed block runs its forward twice, and
BatchNorm would update its running statistics twice; GroupNorm is also per sample, so the
gradients of accumulated micro-batches equal those of the large batch exactly.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from gpuperf.data import CLASSES


class Block(nn.Module):
    """conv-norm-ReLU-conv-norm plus the input, then ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.GroupNorm(8, channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.GroupNorm(8, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = torch.relu(x + self.body(x))
        return out


class ResNetSmall(nn.Module):
    """Stem, ``blocks`` residual blocks per stage, two stages (the second at half resolution).

    Args:
        width: Channels of the first stage (the second has twice as many).
        blocks: Residual blocks per stage.
        checkpointing: Recompute each block's activations in the backward pass instead of
            keeping them (``torch.utils.checkpoint``, non-reentrant).
    """

    def __init__(self, width: int = 16, blocks: int = 2, checkpointing: bool = False) -> None:
        super().__init__()
        self.checkpointing = checkpointing
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1, bias=False), nn.GroupNorm(8, width), nn.ReLU()
        )
        self.stage1 = nn.ModuleList(Block(width) for _ in range(blocks))
        self.down = nn.Sequential(
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False),
            nn.GroupNorm(8, 2 * width),
            nn.ReLU(),
        )
        self.stage2 = nn.ModuleList(Block(2 * width) for _ in range(blocks))
        self.head = nn.Linear(2 * width, CLASSES)

    def _run(self, block: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if self.checkpointing and self.training and torch.is_grad_enabled():
            out: torch.Tensor = checkpoint(block, x, use_reentrant=False)
            return out
        result: torch.Tensor = block(x)
        return result

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for block in self.stage1:
            h = self._run(block, h)
        h = self.down(h)
        for block in self.stage2:
            h = self._run(block, h)
        out: torch.Tensor = self.head(h.mean(dim=(2, 3)))
        return out
