"""Checkpoints: one file, written whole by rank 0, read by every rank.

A checkpoint holds the *full* (unsharded, CPU) model and optimizer state, the GradScaler's
state, the optimizer step and the config fingerprint. Full state makes it independent of the
number of workers: a run checkpointed by 2 ranks can resume on 1 or 4 (the global batch and
the data order do not depend on the world size). Under FSDP the full state is gathered from
the shards (``torch.distributed.checkpoint.state_dict``); on a cluster with large models you
would write a sharded checkpoint (``torch.distributed.checkpoint.save``) instead.

The write is atomic (a temporary file, then ``os.replace``): a worker killed while writing
leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ddptrain.errors import CheckpointError

CHECKPOINT = "checkpoint.pt"


def save_atomic(state: dict[str, Any], path: Path) -> None:
    """Write ``state`` to ``path`` so that a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def load(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_atomic`.

    Raises:
        CheckpointError: The file is missing, truncated or not a ddptrain checkpoint.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise CheckpointError(f"no checkpoint at {path}") from exc
    except Exception as exc:  # torch raises several types for a damaged file
        raise CheckpointError(f"{path} is not a readable checkpoint: {exc}") from exc
    if not isinstance(state, dict) or "model" not in state or "step" not in state:
        raise CheckpointError(f"{path} is not a ddptrain checkpoint (no model/step)")
    return state


def check_compatible(state: dict[str, Any], fingerprint: str, path: Path | str) -> None:
    """Refuse to resume a run from a checkpoint of a different configuration.

    Raises:
        CheckpointError: The fingerprints differ (say, another seed or global batch).
    """
    found = state.get("fingerprint")
    if found != fingerprint:
        raise CheckpointError(
            f"{path} was written by another configuration (fingerprint {found}, this run "
            f"{fingerprint}); use a new output folder or the same settings"
        )


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """A plain ``name -> tensor`` file (final weights).

    Raises:
        CheckpointError: Missing or unreadable.
    """
    try:
        tensors = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise CheckpointError(f"no weights at {path}: did the run finish?") from exc
    except Exception as exc:
        raise CheckpointError(f"{path} is not readable: {exc}") from exc
    if not isinstance(tensors, dict):
        raise CheckpointError(f"{path} does not hold a state dict")
    return tensors
