"""Settings of costlens (environment prefix COSTLENS_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from aiinfra_shared.config import AiinfraSettings, settings_config


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        db: The DuckDB file holding the FOCUS table (``COSTLENS_DB``).
        currency: The billing currency of the store, fixed by the first ingest.
    """

    model_config = settings_config("COSTLENS_")

    db: Path = Path.home() / ".cache" / "aiinfra" / "costlens" / "costs.duckdb"
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
