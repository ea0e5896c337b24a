"""CUDA only: NCCL all-reduce, a DDP step, mixed precision and FSDP on GPUs.

Skipped with the reason on a machine without CUDA (the shared plugin); ``--require-gpu``
turns the skips into failures on a GPU host: ``uv run nox -s "gpu(ddptrain)"``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from ddptrain.config import TrainConfig
from ddptrain.launch import allreduce_check, launch
from ddptrain.runner import run_in_process

pytestmark = pytest.mark.gpu


def test_nccl_all_reduce_is_correct_on_every_gpu(tmp_path: Path) -> None:
    gpus = torch.cuda.device_count()
    report = allreduce_check(tmp_path, nproc=gpus, device="cuda", sizes_mb="1,64")
    assert report["backend"] == "nccl"
    assert report["world_size"] == gpus
    assert report["correct_on_every_rank"]


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_ddp_training_on_cuda_learns(
    tmp_path: Path, small: Callable[..., TrainConfig], precision: str
) -> None:
    cfg = small(samples=1024, accum_steps=1, device="cuda", precision=precision)
    job = launch(cfg, tmp_path / "run", nproc=torch.cuda.device_count(), max_restarts=0)
    start = next(e for e in job.events if e["event"] == "start")
    assert start["backend"] == "nccl"
    assert start["device"].startswith("cuda")
    assert job.summary["final"]["val_acc"] > 0.4


def test_fsdp_on_cuda_matches_plain_cuda_training(
    tmp_path: Path, small: Callable[..., TrainConfig]
) -> None:
    plain = run_in_process(small(device="cuda"), tmp_path / "plain")
    sharded = run_in_process(small(device="cuda", fsdp=True), tmp_path / "fsdp")
    diff = max(float((plain.state[k] - sharded.state[k]).abs().max()) for k in plain.state)
    assert diff < 1e-4  # TF32/cuDNN kernels: looser than on CPU
