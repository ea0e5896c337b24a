"""BatchCache: rows of different lengths right-aligned, joined and dropped between steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from llmserve.engine.batch import BatchCache
from llmserve.errors import EngineError
from transformers import AutoModelForCausalLM


@pytest.fixture(scope="module")
def model(tiny: Path) -> Any:
    return AutoModelForCausalLM.from_pretrained(tiny).eval()


def _prefill(model: Any, ids: list[int]) -> tuple[Any, int]:
    with torch.inference_mode():
        out = model(input_ids=torch.tensor([ids]), use_cache=True)
    return out.past_key_values, int(out.logits[0, -1].argmax())


def test_rows_are_right_aligned_with_left_padding(model: Any) -> None:
    batch = BatchCache()
    batch.add(_prefill(model, [5, 6, 7, 8, 9])[0])
    batch.add(_prefill(model, [5, 6, 7])[0])
    assert (batch.rows, batch.length, batch.pad) == (2, 5, [0, 2])
    assert batch.real_tokens() == 8
    mask, positions = batch.decode_inputs()
    assert mask.tolist() == [[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1]]
    assert positions.tolist() == [[5], [3]]  # each row's own next position, not the column


def test_a_longer_newcomer_pads_the_rows_already_there(model: Any) -> None:
    batch = BatchCache()
    batch.add(_prefill(model, [5, 6])[0])
    batch.add(_prefill(model, [5, 6, 7, 8])[0])
    assert batch.pad == [2, 0]
    assert batch.cache.layers[0].keys.shape[0] == 2
    assert torch.all(batch.cache.layers[0].keys[0, :, :2] == 0)  # the padding columns


def test_keep_drops_rows_and_trims_shared_padding(model: Any) -> None:
    batch = BatchCache()
    for ids in ([5, 6, 7], [5, 6, 7, 8, 9, 10], [5, 6]):
        batch.add(_prefill(model, ids)[0])
    assert batch.pad == [3, 0, 4]
    batch.keep([0, 2])  # the longest row leaves
    assert batch.pad == [0, 1]  # [3, 4] less the three columns that were padding in both
    assert batch.length == 3
    batch.keep([])
    assert (batch.rows, batch.length) == (0, 0)


def test_one_batched_step_gives_each_row_its_own_logits(model: Any) -> None:
    prompts = [[5, 6, 7, 8, 9, 10, 11], [20, 21], [30, 31, 32, 33]]
    batch = BatchCache()
    alone = []
    for ids in prompts:
        cache, first = _prefill(model, ids)
        batch.add(cache)
        own_cache, _ = _prefill(model, ids)
        with torch.inference_mode():
            step = model(input_ids=torch.tensor([[first]]), past_key_values=own_cache)
        alone.append((first, step.logits[0, -1]))
    mask, positions = batch.decode_inputs()
    with torch.inference_mode():
        out = model(
            input_ids=torch.tensor([[first] for first, _ in alone]),
            attention_mask=mask,
            position_ids=positions,
            past_key_values=batch.cache,
        )
    for row, (_, logits) in enumerate(alone):
        torch.testing.assert_close(out.logits[row, -1], logits, atol=1e-4, rtol=1e-4)
    assert batch.length == 8  # every row grew by one column


def test_only_full_attention_caches_are_batched() -> None:
    class SlidingLayer:
        keys = torch.zeros(1, 1, 1, 1)

    class Cache:
        def __init__(self) -> None:
            self.layers = [SlidingLayer()]

    with pytest.raises(EngineError, match="full-attention caches only, got SlidingLayer"):
        BatchCache().add(Cache())
