"""Settings of servplat (environment prefix ``SERVPLAT_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from aiinfra_shared.config import AiinfraSettings, settings_config

#: The shipped platform: scorer v1/v2 (90/10, shadow, batching) and a tiny chat model.
DEFAULT_CONFIG = Path(__file__).parent / "data" / "platform.yaml"


def _default_cache() -> Path:
    return Path.home() / ".cache" / "aiinfra" / "servplat"


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        config: The platform YAML (backends and routes).
        host: Gateway bind address.
        port: Gateway port.
        cache_dir: Where LLM backends build the tiny model.
        admin_key: Key of the gateway's admin API (``Authorization: Bearer <key>``); unset,
            the admin API answers 403.
    """

    model_config = settings_config("SERVPLAT_")

    config: Path = DEFAULT_CONFIG
    host: str = "127.0.0.1"
    port: int = 8700
    cache_dir: Path = Field(default_factory=_default_cache)
    admin_key: SecretStr | None = None
