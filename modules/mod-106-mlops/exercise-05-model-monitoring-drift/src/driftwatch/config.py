"""Settings of driftwatch: ``DRIFTWATCH_*`` environment variables or a ``.env`` file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from aiinfra_shared.config import AiinfraSettings, settings_config


class DriftwatchSettings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        drift_share: Share of drifted columns at which the whole window counts as drifted
            (Evidently's ``DataDriftPreset(drift_share=...)``).
        consecutive_windows: Drifted windows in a row that trigger a retrain request.
        max_accuracy_drop: Accuracy drop against the reference accuracy that triggers one.
        cooldown_windows: Windows after a retrain request during which no other is sent.
        window_rows: Rows per window the generator produces.
        reference_rows: Rows of the reference window.
        seed: Seed of the generator (fixed seed, same data, same verdicts).
        out_dir: Where reports (HTML + JSON) and the retrain outbox go.
        metrics_host: Address the ``/metrics`` endpoint binds (``0.0.0.0`` in a container).
        webhook_url: Retrain requests are POSTed here as JSON, when set.
        retrain_command: A command run with the request as JSON on stdin, when set.
    """

    model_config = settings_config("DRIFTWATCH_")

    drift_share: float = Field(default=0.5, gt=0, le=1)
    consecutive_windows: int = Field(default=2, ge=1)
    max_accuracy_drop: float = Field(default=0.05, gt=0, lt=1)
    cooldown_windows: int = Field(default=3, ge=0)
    window_rows: int = Field(default=800, ge=50)
    #: Windows with fewer rows are skipped: a drift test on a handful of rows means nothing.
    min_window_rows: int = Field(default=30, ge=2, le=100_000)
    reference_rows: int = Field(default=2000, ge=100)
    seed: int = 7
    out_dir: Path = Path("driftwatch-out")
    metrics_host: str = "127.0.0.1"
    webhook_url: str | None = None
    retrain_command: str | None = None
