"""Each optimization as one switch: a measured before/after and a check that nothing broke.

:func:`optimize` measures the baseline once, then each requested step with exactly one thing
changed, and finally every switch that made steps faster without failing its check, together:

========== =============================================== =====================================
step       what changes                                    correctness check
========== =============================================== =====================================
amp        autocast bf16 (CPU) / fp16 + GradScaler (CUDA)  logits and final losses track fp32
accum      4 micro-batches per step, same global batch     gradients equal the large batch's
ckpt       activation checkpointing of residual blocks     same losses; less activation memory
loader     DataLoader workers/prefetch sweep, best kept    the same tensors, batch for batch
compile    ``torch.compile`` (Inductor)                    logits equal eager's
channels   channels-last (NHWC) model and inputs           logits equal NCHW's
========== =============================================== =====================================

:func:`find_batch` finds the largest batch whose memory fits a budget.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from gpuperf.config import RunConfig
from gpuperf.errors import ConfigError
from gpuperf.loop import (
    RunResult,
    activation_mb,
    autocast,
    build_model,
    dataset,
    make_loader,
    resolve_device,
    to_device,
    train,
)

STEPS = ("amp", "accum", "ckpt", "loader", "compile", "channels")
#: Steps that trade speed for memory: never folded into the combined configuration.
MEMORY_STEPS = ("accum", "ckpt")
#: A speed switch joins the combination only if its median step is at least 5 % faster than the
#: baseline's: smaller differences are within the noise of a shared machine.
MIN_GAIN = 0.05
ACCUM = 4


@dataclass
class Check:
    """A correctness check of one switch."""

    name: str
    passed: bool
    detail: str


@dataclass
class StepResult:
    """One switch: the configuration it ran, its measurement, its check."""

    step: str
    change: str
    config: RunConfig
    run: RunResult
    check: Check
    sweep: list[dict[str, Any]] = field(default_factory=list)

    def median_ms(self) -> float:
        """Median step time of the timed steps, in ms."""
        return statistics.median(self.run.step_s) * 1e3


def parse_steps(text: str) -> list[str]:
    """``"amp,ckpt"`` -> ``["amp", "ckpt"]``; ``all`` -> every step.

    Raises:
        ConfigError: empty, or an unknown step.
    """
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list(STEPS)
    if not names:
        raise ConfigError(f"no step given; choose from {', '.join(STEPS)}")
    unknown = [n for n in names if n not in STEPS]
    if unknown:
        raise ConfigError(f"unknown step {', '.join(unknown)}; choose from {', '.join(STEPS)}")
    return list(dict.fromkeys(names))


def first_batch(cfg: RunConfig, batch: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``batch`` samples in order (no shuffling): the checks' fixed input."""
    data = dataset(cfg)
    n = batch or cfg.batch
    xs, ys = zip(*(data[i % len(data)] for i in range(n)), strict=True)
    return torch.stack(xs), torch.stack(ys)


def _logits(cfg: RunConfig, x: torch.Tensor) -> torch.Tensor:
    device = resolve_device(cfg)
    model: Any = build_model(cfg, device)
    model.eval()
    if cfg.compile:
        model = torch.compile(model)
    with torch.no_grad(), autocast(cfg, device):
        out: torch.Tensor = model(to_device(x, cfg, device)).float().cpu()
    return out


def logits_match(before: RunConfig, after: RunConfig, *, atol: float = 1e-4) -> Check:
    """Fresh models of both configs give the same logits on the same batch."""
    x, _ = first_batch(before, 16)
    a, b = _logits(before, x), _logits(after, x)
    diff = float((a - b).abs().max())
    return Check("logits equal", diff <= atol, f"largest logit difference {diff:.2e} (<= {atol:g})")


def gradients(cfg: RunConfig, x: torch.Tensor, y: torch.Tensor, accum: int) -> list[torch.Tensor]:
    """Gradients of one optimizer step on ``(x, y)`` in ``accum`` micro-batches."""
    device = resolve_device(cfg)
    model = build_model(cfg, device)
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    for xs, ys in zip(x.chunk(accum), y.chunk(accum), strict=True):
        loss = loss_fn(model(to_device(xs, cfg, device)), ys.to(device)) / accum
        loss.backward()
    return [p.grad.detach().cpu().clone() for p in model.parameters() if p.grad is not None]


def accumulation_matches(cfg: RunConfig, accum: int = ACCUM) -> Check:
    """The gradients of ``accum`` accumulated micro-batches equal those of the whole batch."""
    x, y = first_batch(cfg)
    whole = gradients(cfg, x, y, 1)
    parts = gradients(cfg, x, y, accum)
    diff = max(float((a - b).abs().max()) for a, b in zip(whole, parts, strict=True))
    scale = max(float(a.abs().max()) for a in whole)
    ok = diff <= 1e-5 * max(1.0, scale) * 10
    return Check(
        "gradients equal",
        ok,
        f"largest gradient difference {diff:.2e} over {len(whole)} tensors "
        f"(largest gradient {scale:.2e})",
    )


def amp_matches(
    base: RunConfig, amp: RunConfig, before: RunResult, after: RunResult, *, rel: float = 0.1
) -> Check:
    """Mixed precision computes the same thing, less precisely.

    Two conditions: on the same batch and weights, the autocast logits are within 5 % of the
    largest fp32 logit; and after the same steps on the same data, the mean loss of the last
    (up to) five steps is within ``rel`` of fp32's. Step-by-step losses are not compared: a
    low-precision run drifts from the fp32 trajectory and still trains as well.
    """
    x, _ = first_batch(base, 16)
    a, b = _logits(base, x), _logits(amp, x)
    logit_err = float((a - b).abs().max()) / max(float(a.abs().max()), 1e-8)
    tail = min(5, len(before.losses), len(after.losses))
    ref = statistics.fmean(before.losses[-tail:])
    got = statistics.fmean(after.losses[-tail:])
    loss_err = abs(got - ref) / max(abs(ref), 1e-8)
    return Check(
        "tracks fp32",
        logit_err <= 0.05 and loss_err <= rel,
        f"logits within {logit_err:.1%} of fp32 (<= 5%); last-{tail}-step mean loss {got:.3f} "
        f"vs {ref:.3f} ({loss_err:.1%}, <= {rel:.0%})",
    )


def losses_match(before: RunResult, after: RunResult, rel: float) -> Check:
    """The timed steps' losses of two runs agree within ``rel`` (relative)."""
    diffs = [
        abs(a - b) / max(abs(a), 1e-8) for a, b in zip(before.losses, after.losses, strict=True)
    ]
    worst = max(diffs)
    return Check(
        "losses match", worst <= rel, f"largest relative loss difference {worst:.2e} (<= {rel:g})"
    )


def loader_matches(before: RunConfig, after: RunConfig, batches: int = 3) -> Check:
    """The loaders of both configs yield identical tensors for the first ``batches`` batches."""
    data = dataset(before)
    data.set_epoch(0)
    it_a, it_b = iter(make_loader(before, data)), iter(make_loader(after, data))
    for i in range(batches):
        (xa, ya), (xb, yb) = next(it_a), next(it_b)
        if not (torch.equal(xa, xb) and torch.equal(ya, yb)):
            return Check("same batches", False, f"batch {i} differs")
    return Check("same batches", True, f"the first {batches} batches are identical")


def _loader_candidates(base: RunConfig, device: str) -> list[RunConfig]:
    out = []
    for workers in (1, 2):
        for prefetch in (2, 4):
            out.append(
                base.model_copy(
                    update={
                        "num_workers": workers,
                        "prefetch_factor": prefetch,
                        "persistent_workers": True,
                        "pin_memory": device == "cuda",
                    }
                )
            )
    return out


def run_step(
    step: str,
    base: RunConfig,
    baseline: RunResult,
    steps: int,
    warmup: int,
    progress: Callable[[str], None] | None = None,
) -> StepResult:
    """Measure ``step`` (one of :data:`STEPS`) against ``baseline`` and check it."""
    device = resolve_device(base)
    if step == "amp":
        precision = "fp16" if device == "cuda" else "bf16"
        cfg = base.model_copy(update={"precision": precision})
        run = train(cfg, steps, warmup)
        return StepResult(
            step, f"autocast {precision}", cfg, run, amp_matches(base, cfg, baseline, run)
        )
    if step == "accum":
        cfg = base.model_copy(update={"accum": ACCUM})
        run = train(cfg, steps, warmup)
        check = accumulation_matches(base, ACCUM)
        return StepResult(step, f"{ACCUM} micro-batches of {cfg.micro_batch}", cfg, run, check)
    if step == "ckpt":
        cfg = base.model_copy(update={"checkpointing": True})
        run = train(cfg, steps, warmup)
        check = losses_match(baseline, run, 1e-4)
        lower = run.activation_mb < baseline.activation_mb
        check = Check(
            "same losses, less memory",
            check.passed and lower,
            f"{check.detail}; activations {baseline.activation_mb:.1f} -> "
            f"{run.activation_mb:.1f} MiB",
        )
        return StepResult(step, "checkpoint each residual block", cfg, run, check)
    if step == "loader":
        sweep: list[dict[str, Any]] = []
        best: tuple[float, RunConfig, RunResult] | None = None
        for cfg in _loader_candidates(base, device):
            if progress:
                progress(f"loader: {cfg.num_workers} workers, prefetch {cfg.prefetch_factor}")
            run = train(cfg, steps, warmup)
            median = statistics.median(run.step_s)
            sweep.append(
                {
                    "num_workers": cfg.num_workers,
                    "prefetch_factor": cfg.prefetch_factor,
                    "pin_memory": cfg.pin_memory,
                    "step_ms": median * 1e3,
                    "data_wait_ms": statistics.median(run.data_wait_s) * 1e3,
                }
            )
            if best is None or median < best[0]:
                best = (median, cfg, run)
        assert best is not None
        _, cfg, run = best
        change = f"{cfg.num_workers} workers, prefetch {cfg.prefetch_factor}, persistent"
        if cfg.pin_memory:
            change += ", pinned"
        return StepResult(step, change, cfg, run, loader_matches(base, cfg), sweep)
    if step == "compile":
        cfg = base.model_copy(update={"compile": True})
        run = train(cfg, steps, warmup)
        return StepResult(step, "torch.compile (Inductor)", cfg, run, logits_match(base, cfg))
    if step == "channels":
        cfg = base.model_copy(update={"channels_last": True})
        run = train(cfg, steps, warmup)
        return StepResult(step, "channels-last (NHWC)", cfg, run, logits_match(base, cfg))
    raise ConfigError(f"unknown step {step!r}; choose from {', '.join(STEPS)}")


def combine(
    base: RunConfig, results: Sequence[StepResult], baseline: RunResult
) -> RunConfig | None:
    """The baseline with every speed switch that passed its check and was at least
    :data:`MIN_GAIN` faster (or ``None`` when there is none)."""
    base_ms = statistics.median(baseline.step_s) * 1e3
    update: dict[str, Any] = {}
    for r in results:
        slow = r.median_ms() > (1 - MIN_GAIN) * base_ms
        if r.step in MEMORY_STEPS or not r.check.passed or slow:
            continue
        for key, value in r.config.model_dump().items():
            if value != getattr(base, key):
                update[key] = value
    return base.model_copy(update=update) if update else None


def optimize(
    base: RunConfig,
    steps_to_run: Sequence[str],
    *,
    steps: int = 12,
    warmup: int = 3,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Baseline, each step, then the combination; a JSON-ready result document."""
    resolve_device(base)  # refuse an impossible baseline before measuring anything
    if progress:
        progress("baseline")
    baseline = train(base, steps, warmup)
    results: list[StepResult] = []
    for step in steps_to_run:
        if progress:
            progress(step)
        results.append(run_step(step, base, baseline, steps, warmup, progress))
    combined_cfg = combine(base, results, baseline)
    combined = None
    if combined_cfg is not None:
        if progress:
            progress("combined")
        combined = train(combined_cfg, steps, warmup)
    return {
        "schema": "gpuperf/1",
        "device": baseline.device,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "steps": steps,
        "warmup": warmup,
        "baseline": baseline.to_dict(),
        "results": [
            {
                "step": r.step,
                "change": r.change,
                "run": r.run.to_dict(),
                "check": r.check.__dict__,
                "sweep": r.sweep,
            }
            for r in results
        ],
        "combined": combined.to_dict() if combined else None,
    }


def memory_mb(cfg: RunConfig, batch: int) -> float:
    """Memory one training step at ``batch`` needs.

    On CUDA: the measured ``max_memory_allocated`` of one step (an out-of-memory error counts as
    infinite). Elsewhere: the activations saved for backward at that batch plus the weights,
    their gradients and the optimizer's momentum (3 copies of the parameters).
    """
    device = resolve_device(cfg)
    trial = cfg.model_copy(update={"batch": batch, "accum": 1})
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        try:
            model = build_model(trial, device)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            x = torch.randn(batch, 3, cfg.image_size, cfg.image_size, device=device)
            with autocast(trial, device):
                loss = model(to_device(x, trial, device)).float().logsumexp(1).mean()
            loss.backward()
            optimizer.step()
            torch.cuda.synchronize()
        except torch.OutOfMemoryError:
            return float("inf")
        return torch.cuda.max_memory_allocated() / 2**20
    model = build_model(trial, device)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    return activation_mb(trial, batch) + 3 * params / 2**20


#: The batch finder measures real forward passes, so it stops here: probing 65,536 images
#: of the default model would allocate about 60 GiB.
MAX_BATCH = 2048


def machine_memory_mb(cfg: RunConfig) -> float:
    """The memory the budget is spent from: the GPU's on CUDA, the host's RAM otherwise."""
    if resolve_device(cfg) == "cuda":
        return torch.cuda.get_device_properties(0).total_memory / 2**20
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


def find_batch(
    cfg: RunConfig, budget_mb: float, *, limit: int = MAX_BATCH
) -> tuple[int, list[dict[str, float]]]:
    """The largest batch whose :func:`memory_mb` fits ``budget_mb``, and every probe made.

    Doubles from 1 until the budget is exceeded, then bisects between the last fit and the
    first miss. Stops at ``limit`` (a batch that fits then is returned as ``limit``).

    Raises:
        ConfigError: the budget is not positive, is more than the machine has, or not even a
            batch of 1 fits.
    """
    if not budget_mb > 0:
        raise ConfigError(f"budget {budget_mb} MiB: must be positive")
    available = machine_memory_mb(cfg)
    if budget_mb > available:
        raise ConfigError(
            f"budget {budget_mb:g} MiB: more than this machine's {available:,.0f} MiB"
        )
    probes: list[dict[str, float]] = []

    def fits(batch: int) -> bool:
        need = memory_mb(cfg, batch)
        probes.append({"batch": batch, "mb": need})
        return need <= budget_mb

    if not fits(1):
        raise ConfigError(
            f"not even a batch of 1 fits in {budget_mb:g} MiB (it needs {probes[0]['mb']:.1f} MiB)"
        )
    good, bad = 1, 2
    while bad <= limit and fits(bad):
        good, bad = bad, bad * 2
    if bad > limit:
        return good, probes
    while bad - good > 1:
        mid = (good + bad) // 2
        if fits(mid):
            good = mid
        else:
            bad = mid
    return good, probes
