"""Settings of obsstack (environment prefix OBSSTACK_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from aiinfra_shared.config import AiinfraSettings, settings_config


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        data_dir: Where ``obsstack up`` keeps the stack's state (TSDB, store, logs).
        scale: Time compression of the rules the stack loads (60: a 1 h window lasts 1 m).
    """

    model_config = settings_config("OBSSTACK_")
    data_dir: Path = Path.home() / ".cache" / "aiinfra" / "obsstack"
    scale: int = Field(60, ge=1, le=360)
