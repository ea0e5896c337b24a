"""The training core in this process: learning, accumulation, resume, precision, FSDP."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from ddptrain import checkpoint as ckpt
from ddptrain.config import TrainConfig
from ddptrain.demo import max_abs_diff as max_diff
from ddptrain.dist import DistEnv
from ddptrain.engine import LocalRun, micro_batch, read_events, train
from ddptrain.errors import CheckpointError, ConfigError
from ddptrain.runner import FINAL, RESULT, run_in_process


def test_global_batch_splits_over_workers_and_accumulation_steps(
    small: Callable[..., TrainConfig],
) -> None:
    cfg = small(global_batch=64, accum_steps=2)
    assert micro_batch(cfg, 1) == 32
    assert micro_batch(cfg, 4) == 8
    with pytest.raises(ConfigError, match="multiple of 6"):
        micro_batch(cfg, 3)


def test_a_single_process_run_learns_and_writes_its_results(
    small: Callable[..., TrainConfig], out: Path
) -> None:
    cfg = small(samples=1024, val_samples=256, epochs=2, accum_steps=1)
    result = run_in_process(cfg, out)
    assert result.steps == 2 * 1024 // 32
    first, last = result.history
    assert last["val_loss"] < first["val_loss"]
    assert last["val_acc"] > 0.5  # five classes: chance is 0.2
    summary = json.loads((out / RESULT).read_text())
    assert summary["final"] == last
    assert ckpt.load_tensors(out / FINAL).keys() == result.state.keys()
    kinds = [e["event"] for e in read_events(out)]
    assert kinds[0] == "start"
    assert kinds[-1] == "done"
    assert kinds.count("epoch") == 2


def test_gradient_accumulation_gives_the_weights_of_the_whole_batch(
    small: Callable[..., TrainConfig], tmp_path: Path, reference: dict[str, torch.Tensor]
) -> None:
    whole = run_in_process(small(accum_steps=1), tmp_path / "whole")
    assert max_diff(whole.state, reference) < 1e-5  # reference: accum_steps=2


class CrashError(Exception):
    pass


class StopAfterCheckpoint(LocalRun):
    """Stops the run right after the checkpoint at ``step`` is on disk (a crash there)."""

    def __init__(self, out: Path, env: DistEnv, step: int):
        super().__init__(out, env)
        self.stop_at = step

    def save_checkpoint(self, state: dict[str, Any] | None, metrics: dict[str, Any]) -> None:
        super().save_checkpoint(state, metrics)
        if metrics["step"] == self.stop_at:
            raise CrashError


def test_resuming_mid_epoch_ends_exactly_where_an_uninterrupted_run_does(
    small: Callable[..., TrainConfig], out: Path, reference: dict[str, torch.Tensor]
) -> None:
    cfg = small()
    with pytest.raises(CrashError):
        train(cfg, DistEnv(), StopAfterCheckpoint(out, DistEnv(), step=3))
    assert ckpt.load(out / ckpt.CHECKPOINT)["step"] == 3  # 8 steps per epoch: mid-epoch
    resumed = run_in_process(cfg, out)
    assert resumed.start_step == 3
    assert resumed.steps == 16
    assert max_diff(resumed.state, reference) == 0.0
    assert len(resumed.history) == 2


def test_a_finished_run_continues_for_more_epochs(
    small: Callable[..., TrainConfig], tmp_path: Path, reference: dict[str, torch.Tensor]
) -> None:
    run_in_process(small(epochs=1), tmp_path / "run")
    longer = run_in_process(small(epochs=2), tmp_path / "run")
    assert longer.start_step == 8
    assert max_diff(longer.state, reference) == 0.0


def test_a_checkpoint_of_another_configuration_is_refused(
    small: Callable[..., TrainConfig], out: Path
) -> None:
    run_in_process(small(epochs=1), out)
    with pytest.raises(CheckpointError, match="another configuration"):
        run_in_process(small(epochs=1, seed=7), out)
    # the refused run did not touch the checkpoint
    assert ckpt.load(out / ckpt.CHECKPOINT)["config"]["seed"] == 0


def test_a_damaged_checkpoint_is_reported_not_trained_over(
    small: Callable[..., TrainConfig], out: Path
) -> None:
    out.mkdir(parents=True)
    (out / ckpt.CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        run_in_process(small(), out)


def test_too_few_samples_for_one_step_is_a_config_error(
    small: Callable[..., TrainConfig], out: Path
) -> None:
    with pytest.raises(ConfigError, match="less than one global batch"):
        run_in_process(small(samples=16, global_batch=32), out)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_on_cpu_too(
    small: Callable[..., TrainConfig], out: Path, precision: str
) -> None:
    result = run_in_process(small(samples=1024, accum_steps=1, precision=precision), out)
    assert all(torch.isfinite(t).all() for t in result.state.values())
    assert result.final["val_acc"] > 0.4
    saved = ckpt.load(out / ckpt.CHECKPOINT)
    # fp16 keeps a GradScaler (loss scaling against underflow); bf16 needs none.
    assert (saved["scaler"] is not None) == (precision == "fp16")


def test_fsdp_in_a_group_of_one_matches_plain_training(
    small: Callable[..., TrainConfig], out: Path, reference: dict[str, torch.Tensor]
) -> None:
    result = run_in_process(small(fsdp=True), out)
    assert max_diff(result.state, reference) < 1e-5
