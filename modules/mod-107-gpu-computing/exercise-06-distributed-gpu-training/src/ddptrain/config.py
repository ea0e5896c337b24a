"""Settings of ddptrain (environment prefix DDPTRAIN_) and the training configuration.

:class:`TrainConfig` is everything that decides the numbers a run produces: two runs with the
same config give the same weights, whatever the number of workers (the global batch is fixed,
each worker takes ``global_batch / (world_size * accum_steps)`` samples per micro-batch).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aiinfra_shared.config import AiinfraSettings, settings_config

Precision = Literal["fp32", "bf16", "fp16"]
DevicePref = Literal["auto", "cpu", "cuda"]


class TrainConfig(BaseModel):
    """One training run. The defaults train in a few seconds on a laptop CPU.

    Attributes:
        samples: Training images generated (synthetic shapes, see :mod:`ddptrain.data`).
        val_samples: Held-out images for the accuracy after each epoch.
        image_size: Side of the square images.
        epochs: Passes over the training set.
        global_batch: Samples per optimizer step, summed over workers and accumulation steps.
        accum_steps: Micro-batches whose gradients are accumulated before one optimizer step.
        lr: SGD learning rate.
        momentum: SGD momentum.
        width: Channels of the CNN's first convolution (the second has twice as many).
        seed: Seed of the data, the initial weights and the shuffling.
        precision: fp32, or autocast in bf16 (CPU or CUDA) / fp16 with a GradScaler (CUDA).
        fsdp: Shard parameters, gradients and optimizer state (FSDP2 ``fully_shard``).
        device: auto picks CUDA when there is one.
        checkpoint_every: Also checkpoint every N optimizer steps (0: only at epoch ends).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    samples: int = Field(4096, ge=16)
    val_samples: int = Field(1024, ge=8)
    image_size: int = Field(16, ge=8, le=64)
    epochs: int = Field(3, ge=1)
    global_batch: int = Field(64, ge=1)
    accum_steps: int = Field(1, ge=1)
    lr: float = Field(0.05, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    width: int = Field(16, ge=1, le=256)
    seed: int = 0
    precision: Precision = "fp32"
    fsdp: bool = False
    device: DevicePref = "auto"
    checkpoint_every: int = Field(0, ge=0)

    def fingerprint(self) -> str:
        """Hash of what decides the numbers (not the device or checkpoint cadence).

        A checkpoint resumes only into a run with the same fingerprint.
        """
        fields = self.model_dump(exclude={"device", "checkpoint_every", "epochs"})
        blob = json.dumps(fields, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop."""

    model_config = settings_config("DDPTRAIN_")

    runs_dir: Path = Path("runs/ddptrain")
    max_restarts: int = Field(1, ge=0)
