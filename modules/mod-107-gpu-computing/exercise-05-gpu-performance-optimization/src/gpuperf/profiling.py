"""Profile the training loop with ``torch.profiler`` and say what bounds it.

:func:`profile_loop` runs the loop of a :class:`~gpuperf.config.RunConfig` under the profiler
with a schedule (``wait`` steps ignored, ``warmup`` steps traced but thrown away, ``active``
steps recorded), each phase of a step inside a ``record_function`` range (``data``,
``forward``, ``backward``, ``optimizer``; on CUDA also an NVTX range for Nsight Systems),
memory recorded, and the trace exported for
``chrome://tracing`` or https://ui.perfetto.dev.

:func:`classify` reads the recorded steps and splits their time three ways:

* **data**: time inside the ``data`` ranges (waiting for the DataLoader, decoding when it has
  no workers, the host-to-device copy);
* **kernels**: the self time of the ``aten::`` operators outside the data ranges (on CUDA, the
  device time of the kernels), i.e. the time spent doing the math;
* **overhead**: the rest: Python, the dispatcher, autograd bookkeeping, launch latency.

The largest share, above its threshold, names the bound; the evidence goes with the verdict.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.autograd.profiler_util import FunctionEvent
from torch.profiler import ProfilerActivity, profile, record_function, schedule

from gpuperf.config import RunConfig
from gpuperf.loop import (
    autocast,
    batches,
    build_model,
    dataset,
    make_loader,
    resolve_device,
    sync,
    to_device,
)

PHASES = ("data", "forward", "backward", "optimizer")
#: A loop is input-bound when this share of its step time goes to the data phase.
INPUT_BOUND_SHARE = 0.30
#: ... compute-bound when this share goes to the operators' math.
COMPUTE_BOUND_SHARE = 0.60


@dataclass
class Verdict:
    """What bounds the loop, and the shares of step time that say so."""

    bound: str
    shares: dict[str, float]
    evidence: str
    step_ms: float
    phase_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class Profile:
    """The result of :func:`profile_loop`."""

    verdict: Verdict
    top_ops: list[dict[str, Any]]
    top_memory: list[dict[str, Any]]
    trace: Path | None
    table: str


def _is_op(name: str) -> bool:
    return name.startswith("aten::")


def _self_time_within(event: FunctionEvent, device: bool) -> float:
    """Self time (us) of the aten operators in the subtree of ``event``."""
    total = 0.0
    stack = list(event.cpu_children)
    while stack:
        child = stack.pop()
        if _is_op(child.name):
            total += child.self_device_time_total if device else child.self_cpu_time_total
        stack.extend(child.cpu_children)
    return total


def classify(events: list[FunctionEvent], steps: int, on_gpu: bool = False) -> Verdict:
    """Split the recorded steps' time into data / kernels / overhead and name the bound.

    Args:
        events: ``prof.events()`` of the active steps.
        steps: How many steps were recorded.
        on_gpu: Count kernel time on the device (CUDA) instead of operator CPU time.
    """
    step_us = sum(e.cpu_time_total for e in events if e.name.startswith("ProfilerStep"))
    if step_us <= 0:
        raise ValueError("the profile holds no complete step (ProfilerStep)")
    phase_us = {p: sum(e.cpu_time_total for e in events if e.name == p) for p in PHASES}
    data_ops = sum(_self_time_within(e, on_gpu) for e in events if e.name == "data")
    if on_gpu:
        all_ops = sum(e.self_device_time_total for e in events if _is_op(e.name))
    else:
        all_ops = sum(e.self_cpu_time_total for e in events if _is_op(e.name))
    data = phase_us["data"] / step_us
    kernels = max(0.0, (all_ops - data_ops) / step_us)
    overhead = max(0.0, 1.0 - data - kernels)
    shares = {"data": data, "kernels": kernels, "overhead": overhead}
    if data >= INPUT_BOUND_SHARE:
        bound = "input-bound"
        why = (
            f"{data:.0%} of each step waits for data (>= {INPUT_BOUND_SHARE:.0%}): "
            "more DataLoader workers, prefetching, cheaper decoding"
        )
    elif kernels >= COMPUTE_BOUND_SHARE:
        bound = "compute-bound"
        why = (
            f"{kernels:.0%} of each step is operator math (>= {COMPUTE_BOUND_SHARE:.0%}): "
            "mixed precision, channels-last, a better memory layout or a bigger device"
        )
    else:
        bound = "overhead-bound"
        why = (
            f"only {kernels:.0%} of each step is operator math and {data:.0%} is data; "
            f"{overhead:.0%} is Python, dispatch and launches: torch.compile, larger batches, "
            "CUDA graphs"
        )
    return Verdict(
        bound=bound,
        shares=shares,
        evidence=why,
        step_ms=step_us / steps / 1e3,
        phase_ms={p: v / steps / 1e3 for p, v in phase_us.items()},
    )


def profile_loop(
    cfg: RunConfig,
    out: Path | None = None,
    *,
    wait: int = 1,
    warmup: int = 2,
    active: int = 4,
    row_limit: int = 12,
) -> Profile:
    """Train ``wait + warmup + active`` steps under the profiler; classify the active ones.

    Args:
        cfg: The setup to profile.
        out: Folder for the Chrome trace (``trace.json``); none written when ``None``.
        wait: Steps the profiler skips (start-up).
        warmup: Steps traced and discarded (the profiler's own warm-up).
        active: Steps recorded.
        row_limit: Rows of the operator tables.
    """
    if active < 1:
        raise ValueError("active must be at least 1")
    device = resolve_device(cfg)
    data = dataset(cfg)
    stream = batches(make_loader(cfg, data), data)
    model: nn.Module = build_model(cfg, device)
    forward: Any = torch.compile(model) if cfg.compile else model
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9)
    scaler = torch.amp.GradScaler(device, enabled=cfg.precision == "fp16")
    loss_fn = nn.CrossEntropyLoss()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    trace: Path | None = None

    @contextlib.contextmanager
    def phase(name: str) -> Iterator[None]:
        """A profiler range, and on CUDA an NVTX range too (Nsight Systems shows those)."""
        with record_function(name):
            if device == "cuda":
                with torch.cuda.nvtx.range(name):
                    yield
            else:
                yield

    def ready(prof: Any) -> None:
        nonlocal trace
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            trace = out / "trace.json"
            prof.export_chrome_trace(str(trace))

    with profile(
        activities=activities,
        schedule=schedule(wait=wait, warmup=warmup, active=active, repeat=1),
        on_trace_ready=ready,
        profile_memory=True,
        record_shapes=True,
    ) as prof:
        for _ in range(wait + warmup + active):
            with phase("data"):
                x, y = next(stream)
                x, y = to_device(x, cfg, device), y.to(device, non_blocking=cfg.pin_memory)
            with phase("forward"), autocast(cfg, device):
                loss = loss_fn(forward(x), y)
            with phase("backward"):
                scaler.scale(loss).backward()
            with phase("optimizer"):
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
            sync(device)
            prof.step()
        time.sleep(0)
    del stream
    on_gpu = device == "cuda"
    events = list(prof.events())
    verdict = classify(events, active, on_gpu=on_gpu)
    averages = prof.key_averages()
    time_key = "self_device_time_total" if on_gpu else "self_cpu_time_total"
    mem_key = "self_device_memory_usage" if on_gpu else "self_cpu_memory_usage"
    ops = [a for a in averages if _is_op(a.key)]
    top_ops = [
        {"op": a.key, "calls": a.count, "self_ms": getattr(a, time_key) / 1e3 / active}
        for a in sorted(ops, key=lambda a: getattr(a, time_key), reverse=True)[:row_limit]
    ]
    top_memory = [
        {"op": a.key, "calls": a.count, "self_mb": getattr(a, mem_key) / 2**20 / active}
        for a in sorted(ops, key=lambda a: getattr(a, mem_key), reverse=True)[:row_limit]
        if getattr(a, mem_key) > 0
    ]
    table = averages.table(sort_by=time_key, row_limit=row_limit)
    return Profile(
        verdict=verdict, top_ops=top_ops, top_memory=top_memory, trace=trace, table=table
    )
