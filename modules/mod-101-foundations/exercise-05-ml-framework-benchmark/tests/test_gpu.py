"""On CUDA: timed with synchronization, and the framework's own peak-allocated counter."""

from __future__ import annotations

from typing import Any

import pytest
from fwbench import bench


@pytest.mark.gpu
@pytest.mark.parametrize("framework", ["torch", "torch-compile"])
def test_cuda_run_reports_device_peak_memory(framework: str, tiny: Any) -> None:
    cpus, threads = bench.parse_cpus(None, 1)
    result = bench.run_worker(
        bench.worker_spec(framework, "cnn", tiny, cpus, threads, "cuda"), timeout_s=600
    )
    assert result["status"] == "ok", result.get("error")
    assert result["device"] == "cuda"
    assert result["memory"]["device_peak_mb"] > 0
    assert result["env"]["cuda"]
    assert all(t > 0 for t in result["train"]["step_s"])
