"""The train loop the platform runs: in every Ray Train worker, and in every Ray Tune trial.

Under Ray Train (``session="train"``) Ray has already set up the torch process group between
the workers; ``ray.train.torch.prepare_model`` wraps the model in DDP and
``prepare_data_loader`` gives each worker its shard (a DistributedSampler) and moves batches
to the worker's device. Rank 0 writes the checkpoint; every rank reports the same metrics.
Under Ray Tune (``session="tune"``) each trial is one process: the same loop, reporting to
Tune, whose ASHA scheduler may stop it after any epoch.

After a failure, Ray starts a new worker group (or restarts the trial) and
``get_checkpoint()`` returns the last reported checkpoint: the loop restores model, optimizer
and epoch, and carries on.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from trainplat.workload import mlp, split

logger = logging.getLogger(__name__)

MODEL = "model.pt"
META = "meta.json"


class _Session:
    """``ray.train`` or ``ray.tune``: the same three calls, from the right module."""

    def __init__(self, kind: str):
        self.kind = kind
        if kind == "train":
            import ray.train as api

            ctx = api.get_context()
            self.rank, self.world_size = ctx.get_world_rank(), ctx.get_world_size()
        else:
            import ray.tune as api  # type: ignore[no-redef]

            self.rank, self.world_size = 0, 1
        self.api = api

    def checkpoint(self) -> Any:
        return self.api.get_checkpoint()

    def report(self, metrics: dict[str, Any], folder: str | None) -> None:
        checkpoint = self.api.Checkpoint.from_directory(folder) if folder else None
        self.api.report(metrics, checkpoint=checkpoint)


def _chaos(config: dict[str, Any], epoch: int, rank: int) -> None:
    chaos = config.get("chaos")
    if not chaos or epoch != chaos["fail_at_epoch"] or rank != chaos["rank"]:
        return
    marker = Path(chaos["marker"])
    if marker.exists():
        return  # failed once already: this is the restarted group
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"epoch": epoch, "rank": rank, "pid": os.getpid()}))
    logger.warning("chaos drill: worker rank %d fails at epoch %d", rank, epoch)
    if chaos["mode"] == "exit":
        os._exit(1)
    raise RuntimeError(f"chaos drill: rank {rank} failed at epoch {epoch}")


def train_loop(config: dict[str, Any]) -> None:
    """One worker's (or trial's) training: data, model, epochs, checkpoints, reports.

    Args:
        config: ``session`` ("train"/"tune"), ``epochs``, ``data`` (DataSpec fields), the
            hyperparameters (``lr``, ``hidden``, ``layers``, ``batch_size``,
            ``weight_decay``) at the top level (so Tune can search them), optional ``chaos``.
    """
    # Ray Train/Tune log every checkpoint at INFO from inside the worker: keep warnings only.
    for name in ("ray.train", "ray.tune"):
        logging.getLogger(name).setLevel(logging.WARNING)
    session = _Session(config.get("session", "train"))
    data = config["data"]
    torch.manual_seed(data["seed"])
    train_set, val_set = split(
        data["samples"],
        data["val_samples"],
        features=data["features"],
        classes=data["classes"],
        noise=data["noise"],
        seed=data["seed"],
    )
    model: nn.Module = mlp(
        data["features"], data["classes"], int(config["hidden"]), int(config["layers"])
    )
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=float(config["lr"]), weight_decay=float(config["weight_decay"])
    )
    start_epoch = 0
    restored = session.checkpoint()
    if restored is not None:
        with restored.as_directory() as folder:
            state = torch.load(Path(folder) / MODEL, map_location="cpu", weights_only=True)
            meta = json.loads((Path(folder) / META).read_text())
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch = int(meta["epoch"])
    # per-worker batch: the spec's batch_size is global, as in any data-parallel setup
    per_worker = max(1, int(config["batch_size"]) // session.world_size)
    loader = DataLoader(train_set, batch_size=per_worker, shuffle=True)
    device = torch.device("cpu")
    if session.kind == "train":
        import ray.train.torch as rtt

        model = rtt.prepare_model(model)  # DDP across the workers (and .to(device))
        loader = rtt.prepare_data_loader(loader)  # DistributedSampler + device placement
        device = rtt.get_device()
        # after prepare_model the optimizer still holds the same parameter tensors
    bare: nn.Module = model.module if isinstance(model, DistributedDataParallel) else model
    val_x, val_y = (t.to(device) for t in val_set.tensors)

    for epoch in range(start_epoch, int(config["epochs"])):
        _chaos(config, epoch, session.rank)
        if isinstance(loader.sampler, DistributedSampler):
            loader.sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        model.train()
        seen, loss_sum, tick = 0, 0.0, time.perf_counter()
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = functional.cross_entropy(model(x), y)
            loss.backward()  # type: ignore[no-untyped-call]  # DDP all-reduces gradients here
            optimizer.step()
            seen += len(y)
            loss_sum += float(loss.detach()) * len(y)
        seconds = time.perf_counter() - tick
        bare.eval()
        with torch.no_grad():
            logits = bare(val_x)
            val_loss = float(functional.cross_entropy(logits, val_y))
            val_acc = float((logits.argmax(1) == val_y).float().mean())
        metrics = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / max(seen, 1),
            "val_loss": val_loss,
            "val_acc": val_acc,
            "samples_per_s": seen * session.world_size / seconds,
            "start_epoch": start_epoch,
            "world_size": session.world_size,
        }
        with tempfile.TemporaryDirectory() as folder:
            ckpt_dir = None
            if session.rank == 0:
                _append_history(config, metrics)
                torch.save(
                    {"model": bare.state_dict(), "optimizer": optimizer.state_dict()},
                    Path(folder) / MODEL,
                )
                (Path(folder) / META).write_text(json.dumps({**metrics, "epoch": epoch + 1}))
                ckpt_dir = folder
            session.report(metrics, ckpt_dir)


def _append_history(config: dict[str, Any], metrics: dict[str, Any]) -> None:
    """Rank 0 keeps every epoch's metrics, across restarts, in ``history.jsonl``."""
    path = config.get("history")
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with Path(path).open("a") as sink:
            sink.write(json.dumps(metrics) + "\n")


def read_history(path: Path) -> list[dict[str, Any]]:
    """The epochs of a run in order; an epoch redone after a restart keeps its last report."""
    if not path.exists():
        return []
    by_epoch: dict[int, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        by_epoch[int(row["epoch"])] = row
    return [by_epoch[e] for e in sorted(by_epoch)]


def load_model(checkpoint_dir: Path, config: dict[str, Any]) -> torch.nn.Module:
    """The trained MLP from a checkpoint folder the loop wrote."""
    data = config["data"]
    model = mlp(data["features"], data["classes"], int(config["hidden"]), int(config["layers"]))
    state = torch.load(checkpoint_dir / MODEL, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    return model.eval()
