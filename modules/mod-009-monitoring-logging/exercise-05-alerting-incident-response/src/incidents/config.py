"""Settings of incidents (environment prefix INCIDENTS_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from aiinfra_shared.config import AiinfraSettings, settings_config


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        db: The SQLite database.
        oncall: The on-call file (rotations, escalation policies, contacts); none: incidents
            are recorded but nobody is notified.
        dependencies: The service dependency map used for correlation.
        runbooks: Folder of runbook YAML files.
        window_minutes: How long an open incident keeps collecting related alerts.
        smtp_host, smtp_port: Where e-mail goes (port 0: no e-mail).
        prometheus_url: What runbook queries ask.
        worker_interval: Seconds between escalation/notification passes.
        rate_per_minute: Notifications per person per minute before the rest wait.
    """

    model_config = settings_config("INCIDENTS_")
    db: Path = Path.home() / ".cache" / "aiinfra" / "incidents" / "incidents.db"
    oncall: Path | None = None
    dependencies: Path | None = None
    runbooks: Path | None = None
    window_minutes: float = Field(30.0, gt=0, le=24 * 60)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(0, ge=0, le=65535)
    prometheus_url: str | None = None
    worker_interval: float = Field(1.0, gt=0, le=300)
    rate_per_minute: int = Field(5, ge=1, le=1000)
    retry_backoff: float = Field(0.2, ge=0, le=30)
