"""Settings (environment prefix ``FWBENCH_``) and the two measurement profiles.

A :class:`Profile` fixes everything that decides how a number is measured: the batch sizes,
the warm-up excluded from timing and the number of timed repeats. Every framework runs the
same profile, so their numbers compare.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from aiinfra_shared.config import AiinfraSettings, settings_config


class Profile(BaseModel):
    """How much to measure.

    Attributes:
        name: ``quick`` (tests, the demo) or ``full`` (the benchmark sweep).
        samples: Rows of synthetic data generated per model.
        train_batch: Batch size of the training steps.
        warmup_steps: Training steps run and thrown away before timing (after the first one,
            which holds any compilation and is reported on its own).
        train_steps: Timed training steps.
        infer_batches: Batch sizes of the inference latency sweep.
        warmup_infer: Forward passes thrown away per batch size.
        infer_repeats: Timed forward passes per batch size.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    samples: int = Field(gt=0)
    train_batch: int = Field(gt=0)
    warmup_steps: int = Field(ge=0)
    train_steps: int = Field(gt=0)
    infer_batches: tuple[int, ...]
    warmup_infer: int = Field(ge=0)
    infer_repeats: int = Field(gt=0)


QUICK = Profile(
    name="quick",
    samples=512,
    train_batch=32,
    warmup_steps=2,
    train_steps=10,
    infer_batches=(1, 32),
    warmup_infer=2,
    infer_repeats=10,
)
FULL = Profile(
    name="full",
    samples=4096,
    train_batch=64,
    warmup_steps=5,
    train_steps=40,
    infer_batches=(1, 8, 32, 128),
    warmup_infer=5,
    infer_repeats=40,
)
PROFILES = {"quick": QUICK, "full": FULL}


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop."""

    model_config = settings_config("FWBENCH_")

    out_dir: Path = Path("runs/fwbench")
    #: Seconds one (framework, model) worker may take before it is stopped and reported failed.
    worker_timeout_s: float = Field(900.0, gt=0)
