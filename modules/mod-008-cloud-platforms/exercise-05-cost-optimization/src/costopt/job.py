"""The training job's configuration: shared by the trainer and its supervisor (which must not
need torch to read it)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class TrainConfig:
    """The job: a small classifier on seeded synthetic data."""

    steps: int = 120
    batch: int = 64
    lr: float = 0.05
    seed: int = 0
    checkpoint_every: int = 20
    workdir: str = "."
    imds: str | None = None  # the metadata service's base URL; None: never interrupted
    step_delay: float = 0.0  # seconds of extra work per step (the demo's stand-in for a big model)

    @property
    def checkpoint(self) -> Path:
        return Path(self.workdir) / "checkpoint.pt"

    @property
    def progress(self) -> Path:
        return Path(self.workdir) / "progress.json"

    @property
    def final(self) -> Path:
        return Path(self.workdir) / "final.pt"


def config_json(cfg: TrainConfig) -> str:
    return json.dumps(asdict(cfg))


def run_identity(cfg: TrainConfig) -> dict[str, float | int]:
    """What makes two runs the same training: a checkpoint only resumes a run like it."""
    return {"seed": cfg.seed, "batch": cfg.batch, "lr": cfg.lr, "steps": cfg.steps}
