"""Real torch.distributed: torchrun starts 2 ranks that talk gloo over loopback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from ddptrain import checkpoint as ckpt
from ddptrain.config import TrainConfig
from ddptrain.demo import max_abs_diff as max_diff
from ddptrain.errors import LaunchError
from ddptrain.launch import Launched, launch
from ddptrain.runner import load_weights, run_in_process

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ddp_run(
    tmp_path_factory: pytest.TempPathFactory, small: Callable[..., TrainConfig]
) -> Launched:
    """``small()`` on 2 ranks, uninterrupted."""
    return launch(small(), tmp_path_factory.mktemp("ddp"), nproc=2, max_restarts=0)


def test_two_ranks_give_the_weights_of_one_process_with_the_same_global_batch(
    ddp_run: Launched, reference: dict[str, torch.Tensor]
) -> None:
    assert ddp_run.summary["world_size"] == 2
    assert ddp_run.summary["steps"] == 16
    start = next(e for e in ddp_run.events if e["event"] == "start")
    assert start["backend"] == "gloo"
    assert start["micro_batch"] == 8  # 32 = 2 ranks x 2 accumulation steps x 8
    # Same data, same order, gradients averaged by all-reduce: only summation order differs.
    assert max_diff(load_weights(ddp_run.out), reference) < 1e-5


def test_a_killed_rank_is_restarted_and_resumes_to_the_same_weights(
    tmp_path: Path, small: Callable[..., TrainConfig], ddp_run: Launched
) -> None:
    job = launch(small(), tmp_path / "killed", nproc=2, max_restarts=1, kill_at_step=7)
    marker = json.loads((tmp_path / "killed" / ".fault-injected").read_text())
    assert marker == {"step": 7, "rank": 1, "pid": marker["pid"]}  # rank 1 really died
    assert job.attempts == 2
    assert job.resumed_from == [6]  # checkpoint every 3 steps: steps 6-7 are redone
    assert max_diff(load_weights(job.out), load_weights(ddp_run.out)) == 0.0
    assert job.summary["final"] == ddp_run.summary["final"]


def test_a_job_that_fails_for_good_says_why_and_keeps_its_checkpoint(
    tmp_path: Path, small: Callable[..., TrainConfig]
) -> None:
    with pytest.raises(LaunchError, match="torchrun exited with 1") as failure:
        launch(small(), tmp_path / "dead", nproc=2, max_restarts=0, kill_at_step=4)
    assert "SIGKILL" in str(failure.value) or "Signal 9" in str(failure.value)
    assert ckpt.load(tmp_path / "dead" / ckpt.CHECKPOINT)["step"] == 3  # nothing accepted lost


def test_fsdp_on_two_ranks_matches_ddp(
    tmp_path: Path, small: Callable[..., TrainConfig], ddp_run: Launched
) -> None:
    job = launch(small(fsdp=True), tmp_path / "fsdp", nproc=2, max_restarts=0)
    assert max_diff(load_weights(job.out), load_weights(ddp_run.out)) < 1e-5


def test_a_checkpoint_of_two_ranks_resumes_in_one_process(
    tmp_path: Path, small: Callable[..., TrainConfig], reference: dict[str, torch.Tensor]
) -> None:
    folder = tmp_path / "elastic"
    launch(small(epochs=1), folder, nproc=2, max_restarts=0)
    assert ckpt.load(folder / ckpt.CHECKPOINT)["world_size"] == 2
    finished = run_in_process(small(epochs=2), folder)
    assert finished.start_step == 8
    assert max_diff(finished.state, reference) < 1e-5


def test_an_error_inside_the_ranks_is_shown_in_one_line(
    tmp_path: Path, small: Callable[..., TrainConfig]
) -> None:
    """A config the ranks refuse (here: run.json edited after the launcher's checks) must
    reach the user whole, not cut to torchrun's summary."""
    from ddptrain.launch import LOG, rank_error, run_torchrun, worker_env

    out = tmp_path / "bad"
    out.mkdir()
    (out / "run.json").write_text(small().model_copy(update={"global_batch": 30}).model_dump_json())
    module = ["ddptrain.runner", "--config", str(out / "run.json"), "--out", str(out)]
    code = run_torchrun(module, out, nproc=4, max_restarts=0, env=worker_env(4))
    assert code != 0
    message = rank_error(out)
    assert message is not None, (out / LOG).read_text()[-2000:]
    assert message.startswith("rank ")
    assert "ConfigError: global_batch=30 does not split over 4 worker(s)" in message
