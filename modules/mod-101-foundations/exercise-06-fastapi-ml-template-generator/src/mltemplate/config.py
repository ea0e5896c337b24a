"""Settings of mltemplate (environment prefix MLTEMPLATE_)."""

from __future__ import annotations

from pathlib import Path

from aiinfra_shared.config import AiinfraSettings, settings_config
from mltemplate.generator import TEMPLATES


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        templates: The template collection (default: the one shipped in the package); a
            platform team points this at its own.
    """

    model_config = settings_config("MLTEMPLATE_")

    templates: Path = TEMPLATES
