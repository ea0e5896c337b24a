"""torch.profiler output, and the bottleneck verdict (on real profiles and on known events)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gpuperf.config import RunConfig
from gpuperf.profiling import classify, profile_loop
from torch.autograd.profiler_util import FunctionEvent


def test_a_loop_that_decodes_big_jpegs_for_a_tiny_model_is_input_bound(tmp_path: Path) -> None:
    cfg = RunConfig(samples=128, batch=32, width=8, blocks=1, image_size=8)
    result = profile_loop(cfg, tmp_path, active=3)
    assert result.verdict.bound == "input-bound", result.verdict
    assert result.verdict.shares["data"] >= 0.3
    trace = json.loads((tmp_path / "trace.json").read_text())
    names = {e.get("name") for e in trace["traceEvents"]}
    assert {"data", "forward", "backward", "optimizer"} <= names
    assert any(op["op"] == "aten::convolution_backward" for op in result.top_ops)
    assert result.top_memory
    assert all(row["self_mb"] > 0 for row in result.top_memory)


def test_the_same_model_with_a_worker_and_more_math_is_compute_bound() -> None:
    cfg = RunConfig(samples=128, batch=64, width=32, num_workers=1)
    result = profile_loop(cfg, None, active=2)
    assert result.verdict.bound == "compute-bound", result.verdict
    assert result.trace is None
    assert set(result.verdict.phase_ms) == {"data", "forward", "backward", "optimizer"}


def _step(
    data_us: float, data_ops_us: float, ops_us: float, total_us: float = 1000
) -> list[FunctionEvent]:
    """One ProfilerStep: a data range (holding ``data_ops_us`` of aten ops), a forward range
    holding ``ops_us`` of aten ops, and Python time for the rest."""
    step = FunctionEvent(0, "ProfilerStep#1", 0, 0, total_us)
    data = FunctionEvent(1, "data", 0, 0, data_us)
    data_op = FunctionEvent(2, "aten::stack", 0, 0, data_ops_us)
    forward = FunctionEvent(3, "forward", 0, data_us, total_us)
    op = FunctionEvent(4, "aten::convolution", 0, data_us, data_us + ops_us)
    data.append_cpu_child(data_op)
    forward.append_cpu_child(op)
    step.append_cpu_child(data)
    step.append_cpu_child(forward)
    return [step, data, data_op, forward, op]


@pytest.mark.parametrize(
    ("data_us", "ops_us", "bound"),
    [(400, 500, "input-bound"), (100, 700, "compute-bound"), (100, 300, "overhead-bound"),
     (299, 400, "overhead-bound"), (300, 100, "input-bound")],
)  # fmt: skip
def test_classify_shares_and_thresholds(data_us: float, ops_us: float, bound: str) -> None:
    verdict = classify(_step(data_us, 50, ops_us), steps=1)
    assert verdict.bound == bound
    assert verdict.shares["data"] == pytest.approx(data_us / 1000)
    # the ops inside the data range count as data, not as kernels
    assert verdict.shares["kernels"] == pytest.approx(ops_us / 1000)
    assert verdict.shares["overhead"] == pytest.approx(1 - (data_us + ops_us) / 1000)
    assert verdict.step_ms == pytest.approx(1.0)
    says = {
        "input-bound": "waits for data",
        "compute-bound": "operator math",
        "overhead-bound": "Python",
    }
    assert says[bound] in verdict.evidence


def test_classify_refuses_a_profile_without_steps() -> None:
    with pytest.raises(ValueError, match="no complete step"):
        classify([FunctionEvent(0, "aten::add", 0, 0, 10)], steps=1)
