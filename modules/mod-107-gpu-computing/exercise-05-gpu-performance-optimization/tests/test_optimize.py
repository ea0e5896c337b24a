"""Each switch's correctness check passes on the real switch and fails on a broken one."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from gpuperf import optimize as opt
from gpuperf.config import RunConfig
from gpuperf.errors import ConfigError
from gpuperf.loop import train


@pytest.fixture(scope="module")
def baseline(small: RunConfig) -> Any:
    return train(small, steps=4, warmup=1)


def test_accumulated_gradients_equal_the_large_batch(small: RunConfig) -> None:
    check = opt.accumulation_matches(small, 4)
    assert check.passed, check.detail


def test_the_accumulation_check_catches_a_missing_division(small: RunConfig) -> None:
    """Summing micro-batch losses without dividing by the number of micro-batches gives
    gradients 4x too large: the comparison must see it."""
    x, y = opt.first_batch(small)
    whole = opt.gradients(small, x, y, 1)
    wrong = [4 * g for g in opt.gradients(small, x, y, 4)]
    assert max(float((a - b).abs().max()) for a, b in zip(whole, wrong, strict=True)) > 1e-3


def test_checkpointing_keeps_the_losses_and_saves_memory(small: RunConfig, baseline: Any) -> None:
    result = opt.run_step("ckpt", small, baseline, steps=4, warmup=1)
    assert result.check.passed, result.check.detail
    assert result.run.losses == pytest.approx(baseline.losses, rel=1e-4)
    assert result.run.activation_mb < baseline.activation_mb


def test_bf16_autocast_tracks_fp32(small: RunConfig, baseline: Any) -> None:
    result = opt.run_step("amp", small, baseline, steps=4, warmup=1)
    assert result.config.precision == "bf16"
    assert result.check.passed, result.check.detail
    assert result.run.activation_mb < baseline.activation_mb


def test_loss_checks_fail_on_a_different_run(small: RunConfig, baseline: Any) -> None:
    other_cfg = small.model_copy(update={"lr": 0.5, "seed": 3})
    other = train(other_cfg, steps=4, warmup=1)
    assert not opt.losses_match(baseline, other, 1e-4).passed
    assert not opt.amp_matches(small, other_cfg, baseline, other).passed


def test_channels_last_gives_the_same_logits(small: RunConfig) -> None:
    check = opt.logits_match(small, small.model_copy(update={"channels_last": True}))
    assert check.passed, check.detail
    assert not opt.logits_match(small, small.model_copy(update={"seed": 1})).passed


def test_torch_compile_gives_the_same_logits(small: RunConfig) -> None:
    check = opt.logits_match(small, small.model_copy(update={"compile": True}))
    assert check.passed, check.detail


def test_loader_sweep_keeps_the_batches(small: RunConfig, baseline: Any) -> None:
    progress: list[str] = []
    result = opt.run_step("loader", small, baseline, steps=3, warmup=1, progress=progress.append)
    assert result.check.passed, result.check.detail
    assert len(result.sweep) == len(progress) == 4
    assert result.config.num_workers in (1, 2)
    assert result.config.persistent_workers
    best = min(s["step_ms"] for s in result.sweep)
    assert result.median_ms() == pytest.approx(best)
    reshuffled = small.model_copy(update={"seed": 5, "num_workers": 1})
    assert not opt.loader_matches(small, reshuffled).passed


def test_optimize_document_and_combination(small: RunConfig) -> None:
    doc = opt.optimize(small, ["amp", "ckpt"], steps=3, warmup=1)
    assert doc["schema"] == "gpuperf/1"
    assert [r["step"] for r in doc["results"]] == ["amp", "ckpt"]
    assert all(len(r["run"]["step_s"]) == 3 for r in doc["results"])
    if doc["combined"] is not None:  # only speed switches that helped are combined
        assert doc["combined"]["config"]["checkpointing"] is False


def test_combine_takes_only_faster_checked_speed_switches(small: RunConfig, baseline: Any) -> None:
    def fake(step: str, field: dict[str, Any], ms: float, passed: bool = True) -> opt.StepResult:
        run = train(small, steps=1, warmup=0)
        run.step_s = [ms / 1e3]
        cfg = small.model_copy(update=field)
        return opt.StepResult(step, "", cfg, run, opt.Check("c", passed, ""))

    base_ms = sorted(baseline.step_s)[len(baseline.step_s) // 2] * 1e3
    results = [
        fake("amp", {"precision": "bf16"}, base_ms / 2),
        fake("ckpt", {"checkpointing": True}, base_ms / 2),  # memory switch: never combined
        fake("channels", {"channels_last": True}, base_ms * 2),  # slower: left out
        fake("compile", {"compile": True}, base_ms * 0.97),  # 3 % faster: noise, left out
        fake("loader", {"num_workers": 1}, base_ms / 2, passed=False),  # failed its check
    ]
    combined = opt.combine(small, results, baseline)
    assert combined is not None
    assert combined.precision == "bf16"
    assert not combined.checkpointing
    assert not combined.channels_last
    assert combined.num_workers == 0
    assert not combined.compile


def test_find_batch_returns_the_largest_fit(small: RunConfig) -> None:
    best, probes = opt.find_batch(small, 16.0)
    assert opt.memory_mb(small, best) <= 16.0 < opt.memory_mb(small, best + 1)
    assert [p["batch"] for p in probes[:3]] == [1, 2, 4]


def test_find_batch_stops_at_its_limit(small: RunConfig) -> None:
    best, probes = opt.find_batch(small, 1024.0, limit=8)
    assert best == 8
    assert max(p["batch"] for p in probes) == 8  # never a forward pass beyond the limit


@pytest.mark.parametrize(
    ("budget", "message"),
    [(0.001, "not even a batch of 1"), (-1, "positive"), (1e300, "more than this machine's")],
)
def test_find_batch_refuses_impossible_budgets(
    small: RunConfig, budget: float, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        opt.find_batch(small, budget)


@pytest.mark.parametrize(
    ("text", "message"), [("", "no step"), ("amp,turbo", "unknown step turbo")]
)
def test_parse_steps(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        opt.parse_steps(text)
    assert opt.parse_steps("all") == list(opt.STEPS)
    assert opt.parse_steps("ckpt, amp,ckpt") == ["ckpt", "amp"]


def test_float_results_are_finite(baseline: Any) -> None:
    assert all(torch.isfinite(torch.tensor(baseline.losses)))
