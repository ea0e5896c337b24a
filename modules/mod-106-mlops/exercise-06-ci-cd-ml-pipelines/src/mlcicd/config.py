"""Settings of mlcicd (environment prefix MLCICD_)."""

from __future__ import annotations

from aiinfra_shared.config import AiinfraSettings, settings_config


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop."""

    model_config = settings_config("MLCICD_")
