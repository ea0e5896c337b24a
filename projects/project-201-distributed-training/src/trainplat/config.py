"""Settings of trainplat (environment prefix TRAINPLAT_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from aiinfra_shared.config import AiinfraSettings, settings_config


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        storage: Ray Train/Tune storage (checkpoints, results) and the job registry.
        ray_address: Ray cluster to join (``auto``, ``ray://...``); None starts a local one.
        num_cpus: CPUs of the local Ray instance (None: all of this machine's).
        tracking_uri: MLflow tracking server; None logs nothing (``MLFLOW_TRACKING_URI``
            is read too).
    """

    model_config = settings_config("TRAINPLAT_")

    storage: Path = Path("runs/trainplat")
    ray_address: str | None = None
    num_cpus: int | None = Field(None, ge=1)
    tracking_uri: str | None = None
