"""The CUDA paths: fp16 with GradScaler, the device's peak memory, NVTX ranges, CUDA graphs.
Skipped with the reason where there is no CUDA; the same loop runs on CPU in the other tests."""

from __future__ import annotations

import math

import pytest
from gpuperf import optimize as opt
from gpuperf.config import RunConfig
from gpuperf.graphs import graphed_vs_eager
from gpuperf.loop import train
from gpuperf.profiling import profile_loop

pytestmark = pytest.mark.gpu
CUDA = RunConfig(device="cuda", batch=64, width=32, num_workers=2, prefetch_factor=2)


def test_fp16_with_grad_scaler_trains() -> None:
    fp32 = train(CUDA, steps=20, warmup=2)
    fp16 = train(CUDA.model_copy(update={"precision": "fp16"}), steps=20, warmup=2)
    assert all(math.isfinite(v) for v in fp16.losses)
    assert fp16.losses[-1] == pytest.approx(fp32.losses[-1], rel=0.1)
    assert fp16.device_peak_mb is not None
    assert fp32.device_peak_mb is not None
    assert fp16.device_peak_mb < fp32.device_peak_mb


def test_checkpointing_lowers_the_cuda_peak() -> None:
    plain = opt.memory_mb(CUDA, 256)
    ckpt = opt.memory_mb(CUDA.model_copy(update={"checkpointing": True}), 256)
    assert ckpt < plain


def test_pinned_loader_and_nvtx_ranges_profile() -> None:
    result = profile_loop(CUDA.model_copy(update={"pin_memory": True}), None, active=3)
    assert result.verdict.step_ms > 0
    assert any(row["self_ms"] > 0 for row in result.top_ops)  # device time of the kernels


def test_cuda_graph_replay_matches_eager() -> None:
    out = graphed_vs_eager(RunConfig(device="cuda", batch=64, width=16), steps=10)
    assert out["graph_losses"] == pytest.approx(out["eager_losses"], rel=1e-3, abs=1e-4)
    assert out["graph_ms"] > 0


def test_find_batch_on_the_device() -> None:
    best, _ = opt.find_batch(CUDA, 512.0)
    assert opt.memory_mb(CUDA, best) <= 512.0
