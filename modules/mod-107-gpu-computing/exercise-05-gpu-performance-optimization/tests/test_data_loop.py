"""The dataset, the loop and its configuration."""

from __future__ import annotations

import pytest
import torch
from gpuperf.config import RunConfig
from gpuperf.data import JpegImages
from gpuperf.errors import ConfigError
from gpuperf.loop import activation_mb, dataset, make_loader, resolve_device, train
from pydantic import ValidationError


def test_samples_are_decoded_jpegs_with_seeded_augmentation() -> None:
    data = JpegImages(8, image_size=16, seed=1)
    assert data.files[0][:2] == b"\xff\xd8"  # JPEG magic: the decode is real
    x, y = data[3]
    assert x.shape == (3, 16, 16)
    assert x.dtype == torch.float32
    assert 0 <= int(y) < 10
    again, _ = data[3]
    assert torch.equal(x, again)  # the same sample, epoch and seed: the same tensor
    data.set_epoch(1)
    other = torch.stack([data[i][0] for i in range(8)])
    data.set_epoch(0)
    first = torch.stack([data[i][0] for i in range(8)])
    assert not torch.equal(first, other)  # a new epoch, new crops and flips


def test_workers_yield_exactly_the_single_process_batches(small: RunConfig) -> None:
    data = dataset(small)
    data.set_epoch(0)
    single = list(make_loader(small, data))[:3]
    workers = small.model_copy(update={"num_workers": 2, "prefetch_factor": 2})
    multi = list(make_loader(workers, data))[:3]
    for (xa, ya), (xb, yb) in zip(single, multi, strict=True):
        assert torch.equal(xa, xb)
        assert torch.equal(ya, yb)


def test_training_learns_and_measures_each_timed_step() -> None:
    result = train(RunConfig(samples=256), steps=40, warmup=2)
    assert len(result.step_s) == len(result.data_wait_s) == len(result.losses) == 40
    assert all(w < s for w, s in zip(result.data_wait_s, result.step_s, strict=True))
    assert sum(result.losses[-5:]) < 0.8 * sum(result.losses[:5]), result.losses
    assert result.first_step_s > 0
    assert result.device == "cpu"
    assert result.device_peak_mb is None  # no CUDA counter on CPU


def test_checkpointing_and_accumulation_save_activation_memory(small: RunConfig) -> None:
    base = activation_mb(small)
    assert activation_mb(small.model_copy(update={"checkpointing": True})) < 0.6 * base
    # a quarter of the samples per forward: a quarter of the activations, plus the weights
    # that every forward saves
    assert activation_mb(small.model_copy(update={"accum": 4})) == pytest.approx(base / 4, rel=0.15)
    assert activation_mb(small.model_copy(update={"precision": "bf16"})) < 0.7 * base


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"batch": 30, "accum": 4}, "does not split into 4"),
        ({"width": 12}, "multiple of 8"),
        ({"persistent_workers": True}, "need num_workers >= 1"),
        ({"prefetch_factor": 2}, "need num_workers >= 1"),
        ({"lr": float("nan")}, "finite number"),
        ({"batch": 0}, "greater than or equal to 1"),
    ],
)
def test_impossible_configs_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RunConfig(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"precision": "fp16"}, "fp16 needs CUDA"), ({"pin_memory": True}, "only helps copies")],
)
def test_cpu_only_refusals(fields: dict[str, object], message: str) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match=message):
        resolve_device(RunConfig(**fields))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_device(RunConfig(device="cuda"))
