"""Settings of envmgr (environment prefix ENVMGR_)."""

from __future__ import annotations

from pathlib import Path

from aiinfra_shared.config import AiinfraSettings, settings_config


def _default_home() -> Path:
    return Path.home() / ".cache" / "aiinfra" / "envmgr"


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        home: The registry (``registry.json``) and, by default, the environments
            (``envs/<name>``).
    """

    model_config = settings_config("ENVMGR_")

    home: Path = _default_home()

    def env_dir(self, name: str) -> Path:
        """Where an environment goes unless ``--path`` says otherwise."""
        return self.home / "envs" / name
