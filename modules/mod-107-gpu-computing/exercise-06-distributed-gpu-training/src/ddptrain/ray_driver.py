"""The same training core under Ray Train (``TorchTrainer``): the third driver.

Ray Train does what torchrun does, from a Python API and on a Ray cluster: it starts
``num_workers`` worker actors (on any machines of the cluster), sets up the torch process group
between them (gloo on CPU, NCCL with ``use_gpu``), runs ``train_loop_per_worker`` on each,
persists the checkpoints the workers report to ``storage_path``, and with
``FailureConfig(max_failures=N)`` replaces a dead worker group and hands the new one the last
checkpoint (``ray.train.get_checkpoint()``).

Install with the ``ray`` extra: ``uv run aiinfra exec --extra ray 107-06 -- ...``.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ddptrain import checkpoint as ckpt
from ddptrain.config import TrainConfig
from ddptrain.dist import DistEnv, from_initialized
from ddptrain.engine import Fault, train
from ddptrain.errors import DdptrainError, LaunchError

logger = logging.getLogger(__name__)

# Read by Ray when it is imported, so set before any `import ray`: started under `uv run` (as
# `uv run aiinfra run ...` does), Ray would start its workers with `uv run` in the current
# project, the workspace root, whose environment has no ray: they died at import. The workers
# must use this interpreter's environment.
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")


def _ray() -> Any:
    try:
        import ray
        import ray.train
    except ImportError as exc:
        raise DdptrainError(
            "Ray Train is not installed: add the ray extra "
            "(uv run aiinfra exec --extra ray 107-06 -- ...)"
        ) from exc
    return ray


def ensure_ray(temp_dir: Path | None = None, num_cpus: int | None = None) -> None:
    """Start a local Ray instance on loopback (once per process), quietly.

    Args:
        temp_dir: Ray's session folder (logs, sockets); default Ray's own under /tmp.
        num_cpus: CPUs Ray may schedule (default: this machine's).
    """
    ray = _ray()
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        num_cpus=num_cpus or os.cpu_count() or 2,
        # The dashboard (127.0.0.1:8265) also serves the state API that Ray Train's
        # placement-group cleaner polls: without it, that thread logs a warning every second.
        include_dashboard=True,
        _temp_dir=str(temp_dir) if temp_dir else None,
        configure_logging=True,
        logging_level=logging.WARNING,
        log_to_driver=True,
    )


class RayRun:
    """Hooks that keep checkpoints in Ray Train's storage (every rank reports, rank 0 saves)."""

    def __init__(self, env: DistEnv):
        self.env = env

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The checkpoint Ray hands a restarted worker group, or None."""
        import ray.train

        checkpoint = ray.train.get_checkpoint()
        if checkpoint is None:
            return None
        with checkpoint.as_directory() as folder:
            return ckpt.load(Path(folder) / ckpt.CHECKPOINT)

    def save_checkpoint(self, state: dict[str, Any] | None, metrics: dict[str, Any]) -> None:
        """``ray.train.report`` on every rank; only rank 0 attaches the checkpoint."""
        import ray.train

        with tempfile.TemporaryDirectory() as folder:
            checkpoint = None
            if state is not None:
                ckpt.save_atomic(state, Path(folder) / ckpt.CHECKPOINT)
                checkpoint = ray.train.Checkpoint.from_directory(folder)
            ray.train.report(metrics, checkpoint=checkpoint)

    def event(self, kind: str, **fields: Any) -> None:
        """Rank 0's events go to the worker log (Ray forwards it to the driver)."""
        if self.env.is_main and kind in ("start", "done"):
            logger.info("%s %s", kind, fields)


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """What every Ray Train worker runs: the core, with Ray's process group and storage."""
    cfg = TrainConfig.model_validate(config["train"])
    env = from_initialized(cfg.device)
    fault = None
    if config.get("kill_at_step"):
        marker = Path(config["marker_dir"]) / ".fault-injected"
        fault = Fault(
            step=int(config["kill_at_step"]), rank=int(config["kill_rank"]), marker=marker
        )
    train(cfg, env, RayRun(env), fault=fault)


@dataclass
class RayFit:
    """A finished Ray Train run.

    Attributes:
        metrics: The last reported metrics (epoch, step, losses, val_acc).
        checkpoint_dir: The last checkpoint, in the run's storage.
        weights: Final model weights (from that checkpoint).
        seconds: Wall time of ``fit()`` (worker start-up included).
    """

    metrics: dict[str, Any]
    checkpoint_dir: Path
    weights: dict[str, torch.Tensor]
    seconds: float


def fit(
    cfg: TrainConfig,
    storage: Path,
    *,
    name: str = "ddptrain",
    num_workers: int = 2,
    max_failures: int = 1,
    kill_at_step: int | None = None,
    kill_rank: int = 1,
) -> RayFit:
    """Train ``cfg`` with ``TorchTrainer`` on the running (or a new local) Ray instance.

    Args:
        cfg: The run's configuration.
        storage: Ray Train's ``storage_path`` (checkpoints, results).
        name: Run name (a folder under ``storage``).
        num_workers: Worker actors (ranks).
        max_failures: Worker-group restarts allowed.
        kill_at_step: SIGKILL worker ``kill_rank`` after this step, once (fault injection).
        kill_rank: The rank that dies.

    Returns:
        The metrics, the last checkpoint and the final weights.

    Raises:
        LaunchError: Training failed for good.
    """
    _ray()
    from ray.train import (
        CheckpointConfig,
        FailureConfig,
        LoggingConfig,
        RunConfig,
        ScalingConfig,
    )
    from ray.train.torch import TorchConfig, TorchTrainer

    ensure_ray()
    use_gpu = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
    storage.mkdir(parents=True, exist_ok=True)
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config={
            "train": cfg.model_dump(),
            "kill_at_step": kill_at_step,
            "kill_rank": kill_rank,
            "marker_dir": str(storage / name),
        },
        torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
        scaling_config=ScalingConfig(num_workers=num_workers, use_gpu=use_gpu),
        # Ray Train V2's RunConfig (what runs) takes logging_config; mypy reads the V1 one.
        run_config=RunConfig(  # type: ignore[call-arg]
            name=name,
            storage_path=str(storage),
            # Ray Train's own INFO lines (one per report per worker) drown the run's logs.
            logging_config=LoggingConfig(log_level="WARNING"),
            failure_config=FailureConfig(max_failures=max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
        ),
    )
    started = time.monotonic()
    try:
        result = trainer.fit()
    except Exception as exc:  # ray.train.TrainingFailedError and friends
        raise LaunchError(f"Ray Train run {name!r} failed: {exc}") from exc
    seconds = time.monotonic() - started
    if result.checkpoint is None:
        raise LaunchError(f"Ray Train run {name!r} reported no checkpoint")
    folder = Path(result.checkpoint.path)
    state = ckpt.load(folder / ckpt.CHECKPOINT)
    return RayFit(
        metrics=dict(result.metrics or {}),
        checkpoint_dir=folder,
        weights=state["model"],
        seconds=seconds,
    )
