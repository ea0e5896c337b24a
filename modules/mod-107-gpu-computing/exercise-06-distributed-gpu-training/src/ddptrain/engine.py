"""The training core: ONE function, driven by a single process, torchrun or Ray Train.

What makes it data-parallel, in the order it happens in :func:`train`:

1. every rank builds the same model from the same seed (DDP also broadcasts rank 0's weights);
2. a :class:`~torch.utils.data.DistributedSampler` gives each rank a disjoint slice of one
   shuffled order (the order depends on the seed and the epoch, not on the world size);
3. each rank runs forward/backward on its micro-batch; DDP all-reduces (averages) gradients
   bucket by bucket *during* backward, so every rank steps with the same gradient;
4. with gradient accumulation, the first ``accum_steps - 1`` backwards run under
   ``no_sync()`` (no all-reduce), the last one syncs the accumulated sum: one all-reduce per
   optimizer step instead of one per micro-batch;
5. rank 0 writes checkpoints and events; a barrier after each checkpoint keeps the others from
   running ahead of a checkpoint that is not on disk yet;
6. validation is sharded too: each rank scores its slice, one all-reduce sums the totals.

Because the global batch is fixed and the per-rank loss is a mean over equal micro-batches,
N ranks compute exactly the gradient one process would on the whole global batch: the tests
check that the weights agree.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.fsdp import FSDPModule
from torch.nn import functional
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from ddptrain import checkpoint as ckpt
from ddptrain.config import TrainConfig
from ddptrain.data import train_val
from ddptrain.dist import DistEnv
from ddptrain.errors import ConfigError
from ddptrain.model import ShapesCNN

logger = logging.getLogger(__name__)

# Full (unsharded) state on the CPU: what a checkpoint needs to be world-size independent.
FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)
EVENTS = "events.jsonl"


class RunHooks(Protocol):
    """Where a run keeps its checkpoints and says how it is going (a folder, or Ray Train)."""

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The last checkpoint's state, on every rank, or None to start from scratch."""

    def save_checkpoint(self, state: dict[str, Any] | None, metrics: dict[str, Any]) -> None:
        """Called by every rank at the same step; ``state`` is set on rank 0 only."""

    def event(self, kind: str, **fields: Any) -> None:
        """A progress event (rank 0's call counts; others may be ignored)."""


@dataclass
class Fault:
    """Fault injection for the resume tests and the demo: SIGKILL one rank at one step, once.

    Attributes:
        step: Optimizer step after which the rank dies.
        rank: Which rank dies.
        marker: File written just before dying, so the restarted run does not die again.
    """

    step: int
    rank: int
    marker: Path

    def maybe_kill(self, step: int, env: DistEnv) -> None:
        """Kill this process (uncatchable SIGKILL, like an OOM kill) if it is the one."""
        if step != self.step or env.rank != self.rank or self.marker.exists():
            return
        self.marker.parent.mkdir(parents=True, exist_ok=True)
        self.marker.write_text(json.dumps({"step": step, "rank": env.rank, "pid": os.getpid()}))
        logger.warning("fault injection: killing rank %d at step %d", env.rank, step)
        os.kill(os.getpid(), signal.SIGKILL)

    @classmethod
    def from_env(cls, marker_dir: Path) -> Fault | None:
        """``DDPTRAIN_KILL_AT_STEP`` (and ``DDPTRAIN_KILL_RANK``, default 1), if set."""
        at = os.environ.get("DDPTRAIN_KILL_AT_STEP")
        if not at:
            return None
        rank = int(os.environ.get("DDPTRAIN_KILL_RANK", "1"))
        return cls(step=int(at), rank=rank, marker=marker_dir / ".fault-injected")


@dataclass
class TrainResult:
    """What a run returns (the same on every rank, except ``state``: rank 0 only).

    Attributes:
        steps: Optimizer steps done in total (including those before a resume).
        start_step: The step this process started from (0, or the checkpoint's).
        world_size: Ranks that trained.
        history: One entry per epoch: epoch, step, train_loss, val_loss, val_acc.
        samples_per_s: Training throughput of this process's part, all ranks together.
        state: The final full model state (rank 0), on the CPU.
    """

    steps: int
    start_step: int
    world_size: int
    history: list[dict[str, float]]
    samples_per_s: float
    state: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def final(self) -> dict[str, float]:
        """The last epoch's metrics."""
        return self.history[-1] if self.history else {}


def micro_batch(cfg: TrainConfig, world_size: int) -> int:
    """Samples per rank per micro-batch.

    Raises:
        ConfigError: The global batch does not split evenly (then ranks would see different
            batch sizes, and N ranks would no longer match one process).
    """
    parts = world_size * cfg.accum_steps
    if cfg.global_batch % parts:
        raise ConfigError(
            f"global_batch={cfg.global_batch} does not split over {world_size} worker(s) x "
            f"{cfg.accum_steps} accumulation step(s); use a multiple of {parts}"
        )
    return cfg.global_batch // parts


def _precision(cfg: TrainConfig, device: torch.device) -> tuple[torch.dtype | None, Any]:
    """Autocast dtype and GradScaler. fp16 needs the scaler (narrow exponent); bf16 does not."""
    if cfg.precision == "fp32":
        return None, None
    if cfg.precision == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError("this GPU has no bf16; use --precision fp16")
        return torch.bfloat16, None
    return torch.float16, torch.amp.GradScaler(device.type)


def _wrap(model: nn.Module, cfg: TrainConfig, env: DistEnv) -> nn.Module:
    """FSDP2 to shard, DDP in a process group, nothing for a lone process."""
    if cfg.fsdp:
        if not env.distributed:
            raise ConfigError("fsdp needs a process group (run through process_group)")
        from torch.distributed.fsdp import fully_shard

        for unit in model.shard_units() if isinstance(model, ShapesCNN) else []:
            fully_shard(unit)
        fully_shard(model)
        return model
    if env.distributed:  # a torchrun/Ray group, even of one: the same code path as N ranks
        ids = [env.local_rank] if env.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)
    return model


@contextmanager
def grad_sync(model: nn.Module, sync: bool) -> Iterator[None]:
    """Skip the gradient all-reduce of this backward unless ``sync`` (accumulation)."""
    if sync:
        yield
    elif isinstance(model, DistributedDataParallel):
        with model.no_sync():
            yield
    elif isinstance(model, FSDPModule):  # FSDP2: fully_shard made the model one
        model.set_requires_gradient_sync(False)
        try:
            yield
        finally:
            model.set_requires_gradient_sync(True)
    else:
        yield


def _bare(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


@torch.no_grad()
def evaluate(
    model: nn.Module, data: TensorDataset, env: DistEnv, amp: torch.dtype | None
) -> tuple[float, float]:
    """Validation loss and accuracy; each rank scores every ``world_size``-th sample.

    Every rank runs exactly one forward (FSDP's all-gathers must match across ranks).
    """
    net = _bare(model)
    net.eval()
    index = torch.arange(env.rank, len(data), env.world_size)
    images, labels = (t[index].to(env.device) for t in data.tensors)
    autocast = torch.autocast(env.device.type, dtype=amp) if amp else nullcontext()
    with autocast:
        logits = net(images)
    logits = logits.float()
    totals = torch.stack(
        [
            functional.cross_entropy(logits, labels, reduction="sum"),
            (logits.argmax(dim=1) == labels).sum().float(),
            torch.tensor(float(len(index)), device=env.device),
        ]
    )
    env.all_reduce_sum(totals)
    net.train()
    loss_sum, correct, count = totals.tolist()
    return loss_sum / count, correct / count


@dataclass
class _Trainer:
    """One process's side of a run, built by :func:`_setup`; :func:`train` drives it.

    Attributes:
        cfg, env, hooks: As given to :func:`train`.
        model: The wrapped model (DDP, FSDP2 or bare).
        opt: SGD with momentum.
        scaler: The fp16 GradScaler, or None.
        amp: The autocast dtype, or None for fp32.
        sampler, loader: This rank's slice of the training set.
        val_set: The validation set (sharded in :func:`evaluate`).
        steps_per_epoch: Optimizer steps per epoch (all ranks together take one).
        total: Optimizer steps of the whole run.
        step: Optimizer steps done so far (including those before a resume).
        history: One entry per finished epoch.
        epoch_loss: (sum of micro-batch losses, micro-batches) of the current epoch, this rank.
    """

    cfg: TrainConfig
    env: DistEnv
    hooks: RunHooks
    model: nn.Module
    opt: torch.optim.Optimizer
    scaler: Any
    amp: torch.dtype | None
    sampler: DistributedSampler[Any]
    loader: DataLoader[Any]
    val_set: TensorDataset
    steps_per_epoch: int
    total: int
    step: int
    history: list[dict[str, float]]
    epoch_loss: torch.Tensor
    train_seconds: float = 0.0
    trained_steps: int = 0

    def save(self, metrics: dict[str, Any]) -> None:
        """A checkpoint: every rank takes part (a collective under FSDP), rank 0 writes it."""
        model_sd = get_model_state_dict(self.model, options=FULL)
        optim_sd = get_optimizer_state_dict(self.model, self.opt, options=FULL)
        totals = self.env.all_reduce_sum(self.epoch_loss.clone()).cpu()
        payload = None
        if self.env.is_main:
            payload = {
                "model": model_sd,
                "optim": optim_sd,
                "step": self.step,
                "scaler": self.scaler.state_dict() if self.scaler is not None else None,
                "fingerprint": self.cfg.fingerprint(),
                "history": self.history,
                "epoch_loss": totals,
                "world_size": self.env.world_size,
                "config": self.cfg.model_dump(),
            }
        self.hooks.save_checkpoint(payload, {"step": self.step, **metrics})

    def micro_step(self, images: torch.Tensor, labels: torch.Tensor, sync: bool) -> torch.Tensor:
        """Forward and backward of one micro-batch; the gradient all-reduce only if ``sync``."""
        device = self.env.device
        images, labels = images.to(device, non_blocking=True), labels.to(device)
        with grad_sync(self.model, sync):
            autocast = torch.autocast(device.type, dtype=self.amp) if self.amp else nullcontext()
            with autocast:
                loss = functional.cross_entropy(self.model(images), labels) / self.cfg.accum_steps
            (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
        self.epoch_loss += torch.stack(
            [loss.detach().float() * self.cfg.accum_steps, torch.ones((), device=device)]
        )
        return loss

    def optimizer_step(self) -> None:
        """Apply the accumulated, all-reduced gradient."""
        if self.scaler is not None:
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.step += 1
        self.trained_steps += 1

    def _synchronize(self) -> None:
        if self.env.device.type == "cuda":
            torch.cuda.synchronize(self.env.device)

    def run_epoch(
        self,
        epoch: int,
        fault: Fault | None,
        on_step: Callable[[int, int, float], None] | None,
    ) -> None:
        """The rest of ``epoch`` (all of it, or what follows a mid-epoch checkpoint)."""
        cfg = self.cfg
        self.sampler.set_epoch(epoch)  # same shuffle on every rank, a new one each epoch
        done = self.step - epoch * self.steps_per_epoch
        batches = itertools.islice(
            self.loader, done * cfg.accum_steps, self.steps_per_epoch * cfg.accum_steps
        )
        tick = time.perf_counter()
        for i, (images, labels) in enumerate(batches, start=done * cfg.accum_steps):
            last = (i + 1) % cfg.accum_steps == 0
            loss = self.micro_step(images, labels, sync=last)
            if not last:
                continue
            self.optimizer_step()
            if on_step is not None and self.env.is_main:
                on_step(self.step, self.total, float(loss.detach()) * cfg.accum_steps)
            if fault is not None:
                fault.maybe_kill(self.step, self.env)
            if (
                cfg.checkpoint_every
                and self.step % cfg.checkpoint_every == 0
                and self.step % self.steps_per_epoch
            ):
                self._synchronize()
                self.train_seconds += time.perf_counter() - tick
                self.save({"epoch": epoch})
                tick = time.perf_counter()
        self._synchronize()
        self.train_seconds += time.perf_counter() - tick

    def end_epoch(self, epoch: int) -> None:
        """Sharded validation, the epoch's metrics, an event and a checkpoint."""
        loss_sum, batches_seen = self.env.all_reduce_sum(self.epoch_loss.clone()).tolist()
        val_loss, val_acc = evaluate(self.model, self.val_set, self.env, self.amp)
        metrics = {
            "epoch": epoch + 1,
            "step": self.step,
            "train_loss": loss_sum / max(batches_seen, 1),
            "val_loss": val_loss,
            "val_acc": val_acc,
        }
        self.history.append(metrics)
        self.epoch_loss.zero_()
        if self.env.is_main:
            logger.info(
                "epoch %d/%d step %d: train_loss %.4f val_loss %.4f val_acc %.3f",
                epoch + 1,
                self.cfg.epochs,
                self.step,
                metrics["train_loss"],
                val_loss,
                val_acc,
            )
            self.hooks.event("epoch", **metrics)
        self.save(metrics)


def _build_model(
    cfg: TrainConfig, env: DistEnv, state: dict[str, Any] | None, scaler: Any
) -> tuple[nn.Module, torch.optim.Optimizer]:
    """The model (from the checkpoint's full state when resuming), wrapped, and its optimizer."""
    torch.manual_seed(cfg.seed)
    model: nn.Module = ShapesCNN(width=cfg.width, image_size=cfg.image_size)
    if state is not None:
        ckpt.check_compatible(state, cfg.fingerprint(), "the checkpoint")
        model.load_state_dict(state["model"])  # full state, into the bare model: before wrapping
    model = _wrap(model.to(env.device), cfg, env)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    if state is not None:
        set_optimizer_state_dict(
            model, opt, state["optim"], options=StateDictOptions(full_state_dict=True)
        )
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
    return model, opt


def _setup(cfg: TrainConfig, env: DistEnv, hooks: RunHooks) -> _Trainer:
    """Check the configuration, build data, model and optimizer, resume from a checkpoint.

    Raises:
        ConfigError: A batch that does not split, an image size, too few samples.
    """
    device = env.device
    micro = micro_batch(cfg, env.world_size)
    if cfg.image_size % 4:
        raise ConfigError(f"image_size={cfg.image_size} must be a multiple of 4 (two 2x2 pools)")
    amp, scaler = _precision(cfg, device)
    train_set, val_set = train_val(cfg.samples, cfg.val_samples, seed=cfg.seed, size=cfg.image_size)
    state = hooks.load_checkpoint()
    model, opt = _build_model(cfg, env, state, scaler)
    sampler: DistributedSampler[Any] = DistributedSampler(
        train_set,
        num_replicas=env.world_size,
        rank=env.rank,
        shuffle=True,
        seed=cfg.seed,
        drop_last=True,
    )
    loader = DataLoader(train_set, batch_size=micro, sampler=sampler, drop_last=True)
    steps_per_epoch = len(loader) // cfg.accum_steps
    if steps_per_epoch == 0:
        raise ConfigError(
            f"samples={cfg.samples} is less than one global batch ({cfg.global_batch}) per epoch"
        )
    step = int(state["step"]) if state else 0
    trainer = _Trainer(
        cfg=cfg,
        env=env,
        hooks=hooks,
        model=model,
        opt=opt,
        scaler=scaler,
        amp=amp,
        sampler=sampler,
        loader=loader,
        val_set=val_set,
        steps_per_epoch=steps_per_epoch,
        total=steps_per_epoch * cfg.epochs,
        step=step,
        history=list(state.get("history", [])) if state else [],
        epoch_loss=torch.zeros(2, device=device),
    )
    if state is not None and env.is_main and step % steps_per_epoch:
        trainer.epoch_loss += state["epoch_loss"].to(device)  # the part before the checkpoint
    if env.is_main:
        hooks.event(
            "start",
            total_steps=trainer.total,
            start_step=step,
            world_size=env.world_size,
            device=str(device),
            backend=env.backend or "none",
            micro_batch=micro,
        )
        if state is not None:
            logger.info("resumed from the checkpoint at step %d/%d", step, trainer.total)
    return trainer


def train(
    cfg: TrainConfig,
    env: DistEnv,
    hooks: RunHooks,
    *,
    fault: Fault | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> TrainResult:
    """Train ``ShapesCNN`` on the generated shapes, resuming from the hooks' checkpoint.

    Args:
        cfg: The run's configuration.
        env: This process's rank, world size and device (:func:`ddptrain.dist.process_group`).
        hooks: Checkpoint store and event sink.
        fault: Kill one rank at one step (tests and demo).
        on_step: Called on rank 0 after each optimizer step with (step, total_steps, loss).

    Returns:
        The :class:`TrainResult` (``state`` filled on rank 0).
    """
    trainer = _setup(cfg, env, hooks)
    start_step = trainer.step
    for epoch in range(trainer.step // trainer.steps_per_epoch, cfg.epochs):
        trainer.run_epoch(epoch, fault, on_step)
        trainer.end_epoch(epoch)

    final_state = get_model_state_dict(trainer.model, options=FULL)
    seconds = trainer.train_seconds
    samples_per_s = trainer.trained_steps * cfg.global_batch / seconds if seconds else 0.0
    if env.is_main:
        hooks.event("done", steps=trainer.step, samples_per_s=samples_per_s)
    return TrainResult(
        steps=trainer.step,
        start_step=start_step,
        world_size=env.world_size,
        history=trainer.history,
        samples_per_s=samples_per_s,
        state={k: v for k, v in final_state.items() if isinstance(v, torch.Tensor)}
        if env.is_main
        else {},
    )


class LocalRun:
    """Hooks for single-process and torchrun runs: a folder with the checkpoint and events.

    Args:
        out: The run folder (``checkpoint.pt``, ``events.jsonl``).
        env: This process's place in the job.
    """

    def __init__(self, out: Path, env: DistEnv):
        self.out = out
        self.env = env
        self.path = out / ckpt.CHECKPOINT
        if env.is_main:
            out.mkdir(parents=True, exist_ok=True)

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The folder's checkpoint, if there is one."""
        return ckpt.load(self.path) if self.path.exists() else None

    def save_checkpoint(self, state: dict[str, Any] | None, metrics: dict[str, Any]) -> None:
        """Rank 0 writes atomically; everyone waits until it is on disk."""
        if state is not None:
            ckpt.save_atomic(state, self.path)
            self.event("checkpoint", **metrics)
        self.env.barrier()

    def event(self, kind: str, **fields: Any) -> None:
        """Append one JSON line to ``events.jsonl`` (rank 0 only)."""
        if not self.env.is_main:
            return
        record = {
            "time": time.time(),
            "event": kind,
            "attempt": int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")),
            **fields,
        }
        with (self.out / EVENTS).open("a") as sink:
            sink.write(json.dumps(record) + "\n")


def read_events(out: Path) -> list[dict[str, Any]]:
    """The events a run folder holds so far (a partial last line is skipped)."""
    path = out / EVENTS
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events
