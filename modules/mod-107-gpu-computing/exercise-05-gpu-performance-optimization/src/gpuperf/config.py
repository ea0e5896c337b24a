"""Settings (environment prefix ``GPUPERF_``) and :class:`RunConfig`, one training setup.

Every optimization of :mod:`gpuperf.optimize` is one field of :class:`RunConfig` changed from
the baseline, so a before/after pair differs in exactly that switch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aiinfra_shared.config import AiinfraSettings, settings_config

Precision = Literal["fp32", "bf16", "fp16"]


class RunConfig(BaseModel):
    """One training setup. The defaults are the slow baseline the study starts from.

    Attributes:
        batch: Samples per optimizer step.
        accum: Micro-batches per optimizer step (each of ``batch / accum`` samples); gradients
            are accumulated, so the update equals one step on the whole batch.
        precision: ``fp32``; ``bf16`` autocast (CPU or CUDA); ``fp16`` autocast with a
            ``GradScaler`` (CUDA only).
        checkpointing: Recompute the residual blocks' activations in the backward pass.
        compile: ``torch.compile`` the model (Inductor).
        channels_last: NHWC memory format for the model and its inputs.
        num_workers: DataLoader worker processes (0: decode in the training process).
        pin_memory: Page-locked host batches, for asynchronous copies to the GPU.
        persistent_workers: Keep the workers between epochs.
        prefetch_factor: Batches each worker prepares ahead (needs workers).
        samples: Images in the dataset.
        image_size: Side of the training images.
        width: Channels of the model's first stage.
        blocks: Residual blocks per stage.
        lr: SGD learning rate (momentum 0.9).
        seed: Seed of data, weights and shuffling.
        device: ``cpu``, ``cuda`` or ``auto`` (CUDA when there is one).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    batch: int = Field(32, ge=1, le=65536)
    accum: int = Field(1, ge=1, le=1024)
    precision: Precision = "fp32"
    checkpointing: bool = False
    compile: bool = False
    channels_last: bool = False
    num_workers: int = Field(0, ge=0, le=64)
    pin_memory: bool = False
    persistent_workers: bool = False
    prefetch_factor: int | None = Field(None, ge=1, le=64)
    samples: int = Field(512, ge=1, le=1_000_000)
    image_size: int = Field(32, ge=8, le=512)
    width: int = Field(16, ge=8, le=1024)
    blocks: int = Field(2, ge=1, le=32)
    lr: float = Field(0.05, gt=0, le=10, allow_inf_nan=False)
    seed: int = Field(0, ge=0)
    device: Literal["cpu", "cuda", "auto"] = "cpu"

    @model_validator(mode="after")
    def _consistent(self) -> RunConfig:
        if self.batch % self.accum:
            raise ValueError(f"batch {self.batch} does not split into {self.accum} micro-batches")
        if self.width % 8:
            raise ValueError(f"width {self.width} must be a multiple of 8 (GroupNorm of 8 groups)")
        if self.num_workers == 0 and (self.persistent_workers or self.prefetch_factor):
            raise ValueError("persistent_workers and prefetch_factor need num_workers >= 1")
        return self

    @property
    def micro_batch(self) -> int:
        """Samples per forward/backward pass."""
        return self.batch // self.accum


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop."""

    model_config = settings_config("GPUPERF_")

    out_dir: Path = Path("runs/gpuperf")
    #: Timed optimizer steps per configuration (after the warm-up).
    steps: int = Field(12, ge=1, le=10_000)
    #: Steps run and thrown away before timing (compilation, allocator, worker start).
    warmup: int = Field(3, ge=0, le=1000)
