"""The KV cache of the running batch: one row per sequence, left-padded to a common length.

Continuous batching needs sequences of different lengths to decode in one forward pass, and
sequences to join and leave between steps. Here each row of the cache tensors
(``[batch, kv_heads, length, head_dim]`` per layer) is one sequence, right-aligned: a shorter
sequence has ``pad`` empty positions on the left, which the attention mask hides.

- **join** (:meth:`BatchCache.add`): a new sequence is prefilled alone, then its cache is
  left-padded (or the batch is) to the same length and concatenated as a new row. This is the
  only time the cache is copied.
- **decode**: every row feeds its last token at once; each layer's cache grows by one column;
  ``position_ids`` carry each row's own position, so the padding does not shift RoPE.
- **leave** (:meth:`BatchCache.keep`): finished rows are dropped; columns that are padding in
  every remaining row are trimmed from the left.

vLLM does this with fixed-size blocks (PagedAttention) instead of padding, so nothing is
copied on join and no memory is spent on padding; the bookkeeping is the same idea.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from llmserve.errors import EngineError


def _layers(cache: Any) -> list[Any]:
    layers = list(getattr(cache, "layers", []))
    for layer in layers:
        if type(layer).__name__ != "DynamicLayer":
            raise EngineError(
                f"continuous batching supports full-attention caches only, got "
                f"{type(layer).__name__} (sliding-window and quantized caches are not handled)"
            )
    return layers


class BatchCache:
    """Rows of a transformers ``DynamicCache``, with per-row left padding."""

    def __init__(self) -> None:
        self.cache: Any = None
        self.pad: list[int] = []

    @property
    def rows(self) -> int:
        """Sequences in the batch."""
        return len(self.pad)

    @property
    def length(self) -> int:
        """Columns of the cache (the longest sequence's length)."""
        if self.cache is None:
            return 0
        return int(self.cache.get_seq_length())

    def real_tokens(self) -> int:
        """Cached tokens that belong to a sequence (padding not counted)."""
        return sum(self.length - p for p in self.pad)

    def add(self, cache: Any) -> int:
        """Append a prefilled single-sequence cache as a new row; return its row index.

        Raises:
            EngineError: ``cache`` holds more than one sequence, or a cache type other than
                full attention.
        """
        new_layers = _layers(cache)
        if new_layers and new_layers[0].keys.shape[0] != 1:
            raise EngineError("add() takes the cache of exactly one prefilled sequence")
        if self.cache is None or self.rows == 0:
            self.cache, self.pad = cache, [0]
            return 0
        old_len, new_len = self.length, int(cache.get_seq_length())
        width = max(old_len, new_len)
        for old, new in zip(_layers(self.cache), new_layers, strict=True):
            old.keys = torch.cat(
                [_left_pad(old.keys, width - old_len), _left_pad(new.keys, width - new_len)]
            )
            old.values = torch.cat(
                [_left_pad(old.values, width - old_len), _left_pad(new.values, width - new_len)]
            )
        self.pad = [p + width - old_len for p in self.pad] + [width - new_len]
        return self.rows - 1

    def keep(self, rows: list[int]) -> None:
        """Keep only ``rows`` (in this order) and trim padding shared by all of them."""
        if not rows:
            self.cache, self.pad = None, []
            return
        if rows == list(range(self.rows)):
            pad = self.pad
        else:
            index = torch.tensor(rows, dtype=torch.long)
            for layer in _layers(self.cache):
                layer.keys = layer.keys.index_select(0, index)
                layer.values = layer.values.index_select(0, index)
            pad = [self.pad[r] for r in rows]
        trim = min(pad)
        if trim:
            for layer in _layers(self.cache):
                layer.keys = layer.keys[:, :, trim:, :]
                layer.values = layer.values[:, :, trim:, :]
        self.pad = [p - trim for p in pad]

    def decode_inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``attention_mask`` (``[rows, length + 1]``) and ``position_ids`` (``[rows, 1]``)
        for one decode step: padding hidden, each row at its own next position."""
        width = self.length + 1
        mask = torch.ones((self.rows, width), dtype=torch.long)
        for row, pad in enumerate(self.pad):
            mask[row, :pad] = 0
        positions = torch.tensor([[self.length - p] for p in self.pad], dtype=torch.long)
        return mask, positions


def _left_pad(tensor: torch.Tensor, amount: int) -> torch.Tensor:
    """Zero columns on the left of the sequence axis (dim -2)."""
    return F.pad(tensor, (0, 0, amount, 0)) if amount else tensor
