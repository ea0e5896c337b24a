"""Settings of modelmon: ``MODELMON_*`` environment variables or a ``.env`` file."""

from __future__ import annotations

from pydantic import Field

from aiinfra_shared.config import AiinfraSettings, settings_config


class ModelmonSettings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        host: Address the service binds (loopback by default).
        port: Its port.
        model_version: Version label on every metric (``modelmon_model_info``).
        seed: Seed of the training data and the model.
        window: Predictions (and labelled predictions) the online statistics cover.
        pending_limit: Predictions kept waiting for their label; the oldest go first.
        faults: Allow ``POST /admin/faults`` (latency and error injection, for demos and
            game days). Off unless asked for.
        prometheus_url: The Prometheus the scorecard queries (``AIINFRA_PROMETHEUS_URL``).
        latency_slo_seconds: The latency objective: requests faster than this are good.
    """

    model_config = settings_config("MODELMON_")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    model_version: str = "1.0.0"
    seed: int = 11
    window: int = Field(default=500, ge=10)
    pending_limit: int = Field(default=100_000, ge=100)
    faults: bool = False
    prometheus_url: str = "http://127.0.0.1:9090"
    latency_slo_seconds: float = 0.25
