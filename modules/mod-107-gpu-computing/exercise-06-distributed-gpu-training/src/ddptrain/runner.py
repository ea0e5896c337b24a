"""Run the training core in this process: alone, or as one rank that torchrun started.

torchrun runs ``python -m ddptrain.runner --config run.json --out <folder>`` once per rank;
each joins the process group from torchrun's environment, trains, and rank 0 writes
``result.json`` and ``final.pt`` (the full model state) into the folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from ddptrain import checkpoint as ckpt
from ddptrain.config import TrainConfig
from ddptrain.dist import process_group
from ddptrain.engine import EVENTS, Fault, LocalRun, TrainResult, train

logger = logging.getLogger(__name__)

RESULT = "result.json"
FINAL = "final.pt"


def write_result(out: Path, cfg: TrainConfig, result: TrainResult, launcher: str) -> None:
    """``result.json`` (metrics, throughput) and ``final.pt`` (weights), written by rank 0."""
    ckpt.save_atomic(result.state, out / FINAL)
    summary = {
        "launcher": launcher,
        "world_size": result.world_size,
        "steps": result.steps,
        "start_step": result.start_step,
        "samples_per_s": result.samples_per_s,
        "history": result.history,
        "final": result.final,
        "config": cfg.model_dump(),
    }
    (out / RESULT).write_text(json.dumps(summary, indent=2))


def run_in_process(
    cfg: TrainConfig,
    out: Path,
    *,
    fault: Fault | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
    launcher: str = "single",
) -> TrainResult:
    """Train here: the single-process driver, and each rank's body under torchrun.

    Args:
        cfg: The run's configuration.
        out: Run folder; a checkpoint already there is resumed.
        fault: Fault injection (tests, demo).
        on_step: Progress callback on rank 0.
        launcher: Name recorded in ``result.json``.

    Returns:
        The :class:`TrainResult`.
    """
    with process_group(cfg.device, force_group=cfg.fsdp) as env:
        result = train(cfg, env, LocalRun(out, env), fault=fault, on_step=on_step)
        if env.is_main:
            write_result(out, cfg, result, launcher)
        env.barrier()
        return result


def load_weights(out: Path) -> dict[str, torch.Tensor]:
    """The final weights a finished run folder holds."""
    return ckpt.load_tensors(out / FINAL)


def main(argv: list[str] | None = None) -> None:
    """Entry point of one torchrun rank."""
    from aiinfra_shared.logging import configure

    configure()
    parser = argparse.ArgumentParser(prog="python -m ddptrain.runner")
    parser.add_argument("--config", type=Path, required=True, help="TrainConfig as JSON")
    parser.add_argument("--out", type=Path, required=True, help="run folder")
    args = parser.parse_args(argv)
    cfg = TrainConfig.model_validate_json(args.config.read_text())
    run_in_process(
        cfg,
        args.out,
        fault=Fault.from_env(args.out),
        on_step=StepEvents(args.out),
        launcher="torchrun",
    )
    # Everything is written and the process group is gone. Under load (the CI runs two test
    # lanes on two cores) an FSDP rank sometimes died *after* this point with "terminate
    # called without an active exception" (SIGABRT from a C++ destructor at interpreter exit),
    # and torchrun reported the finished job as failed. Leave without running those.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class StepEvents:
    """Rank 0's progress as ``step`` events, for the launcher's progress bar."""

    def __init__(self, out: Path):
        self.path = out / EVENTS

    def __call__(self, step: int, total: int, loss: float) -> None:
        with self.path.open("a") as sink:
            sink.write(
                json.dumps({"event": "step", "step": step, "total": total, "loss": loss}) + "\n"
            )


if __name__ == "__main__":
    main()
