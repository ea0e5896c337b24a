"""The process group: who am I (rank), how many are we (world size), which device and backend.

torchrun (and Ray Train) start one process per worker and tell each its place through the
environment: ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``. The
backend follows the hardware: NCCL between CUDA devices, gloo between CPU processes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from ddptrain.config import DevicePref
from ddptrain.errors import ConfigError

logger = logging.getLogger(__name__)

CPU = torch.device("cpu")


@dataclass(frozen=True)
class DistEnv:
    """This process's place in the job.

    Attributes:
        rank: Global rank (0 is the one that logs and writes checkpoints).
        world_size: Number of worker processes.
        local_rank: Rank on this machine: the index of the GPU this process drives.
        device: Where the model and batches live.
        backend: ``"nccl"``, ``"gloo"``, or None for a single process without a group.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = CPU
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """Rank 0: logs, writes checkpoints and results."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """A process group is up (even with one member, as for FSDP on one GPU)."""
        return self.backend is not None

    def barrier(self) -> None:
        """Wait until every rank gets here (no-op without a process group)."""
        if not self.distributed:
            return
        if self.backend == "nccl":
            dist.barrier(device_ids=[self.local_rank])
        else:
            dist.barrier()

    def all_reduce_sum(self, values: torch.Tensor) -> torch.Tensor:
        """Sum ``values`` over every rank, in place; returns it (unchanged alone)."""
        if self.distributed:
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values


def pick_device(pref: DevicePref, local_rank: int = 0) -> torch.device:
    """The device for ``pref``: ``auto`` takes CUDA when present.

    Raises:
        ConfigError: ``cuda`` was asked for on a machine without one (or with too few GPUs).
    """
    count = torch.cuda.device_count()
    if pref == "cpu" or (pref == "auto" and count == 0):
        return torch.device("cpu")
    if count == 0:
        raise ConfigError("device=cuda but torch sees no CUDA device; use --device cpu")
    if local_rank >= count:
        raise ConfigError(f"local rank {local_rank} has no GPU: this machine has {count}")
    return torch.device("cuda", local_rank)


def backend_for(device: torch.device) -> str:
    """NCCL for CUDA tensors, gloo for CPU tensors."""
    return "nccl" if device.type == "cuda" else "gloo"


def _ranks_from_env() -> tuple[int, int, int] | None:
    if "WORLD_SIZE" not in os.environ:
        return None
    return (int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"]))


@contextmanager
def process_group(
    pref: DevicePref = "auto", *, force_group: bool = False, timeout_s: float = 120.0
) -> Iterator[DistEnv]:
    """Join the job torchrun started (or run alone), and leave it cleanly.

    Without torchrun's variables this is a single process with no group, unless
    ``force_group`` (FSDP needs one): then it forms a group
    of one (an in-memory store, no rendezvous).

    Args:
        pref: Device preference.
        force_group: Start a one-member group when run without torchrun.
        timeout_s: How long a collective may wait for a missing rank before failing.

    Yields:
        This process's :class:`DistEnv`.
    """
    ranks = _ranks_from_env()
    if ranks is None and not force_group:
        yield DistEnv(device=pick_device(pref))
        return
    rank, world, local = ranks if ranks is not None else (0, 1, 0)
    device = pick_device(pref, local)
    backend = backend_for(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    timeout = timedelta(seconds=timeout_s)
    if ranks is None:
        # A group of one needs no rendezvous: an in-memory store is enough.
        # HashStore is public (torch.distributed re-exports it from C++), its stub does not say so
        store = dist.HashStore()  # type: ignore[attr-defined]
        dist.init_process_group(backend, store=store, rank=0, world_size=1, timeout=timeout)
    else:
        dist.init_process_group(backend, timeout=timeout)
    env = DistEnv(rank=rank, world_size=world, local_rank=local, device=device, backend=backend)
    logger.debug("joined the process group: rank %d/%d on %s (%s)", rank, world, device, backend)
    try:
        yield env
    finally:
        dist.destroy_process_group()


def from_initialized(pref: DevicePref = "auto") -> DistEnv:
    """The :class:`DistEnv` of a process whose group someone else set up (Ray Train)."""
    if not dist.is_initialized():
        return DistEnv(device=pick_device(pref))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(pref, local)
    return DistEnv(
        rank=dist.get_rank(),
        world_size=dist.get_world_size(),
        local_rank=local,
        device=device,
        backend=str(dist.get_backend()),
    )
