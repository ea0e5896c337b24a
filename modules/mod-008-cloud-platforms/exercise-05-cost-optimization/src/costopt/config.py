"""Settings of costopt (environment prefix COSTOPT_)."""

from __future__ import annotations

from pathlib import Path

from aiinfra_shared.config import AiinfraSettings, settings_config


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        state_file: Which budget thresholds already fired this month (``COSTOPT_STATE_FILE``).
    """

    model_config = settings_config("COSTOPT_")

    state_file: Path = Path.home() / ".cache" / "aiinfra" / "costopt" / "budget-state.json"
