"""Configuration: one pydantic-settings base class for every package.

Each package subclasses :class:`AiinfraSettings` and sets its own environment prefix::

    class MlapiSettings(AiinfraSettings):
        model_config = settings_config("MLAPI_")
        port: int = 8000

Values come from (highest first) init arguments, environment variables, a ``.env`` file in
the working directory, then the defaults, which must work on a laptop.
"""

from __future__ import annotations

from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict


def settings_config(env_prefix: str, **overrides: Any) -> SettingsConfigDict:
    """Build the ``model_config`` every package settings class uses.

    Args:
        env_prefix: The package's environment prefix, e.g. ``"MLAPI_"``.
        **overrides: Any other ``SettingsConfigDict`` key to change.

    Returns:
        The settings config: ``.env`` support, nested ``__`` delimiter, unknown keys ignored.
    """
    if not env_prefix.endswith("_"):
        raise ValueError(f"env_prefix must end with '_', got {env_prefix!r}")
    config = SettingsConfigDict(
        env_prefix=env_prefix,
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )
    config.update(overrides)  # type: ignore[typeddict-item]
    return config


class AiinfraSettings(BaseSettings):
    """Base settings: shared knobs every package has.

    Attributes:
        log_level: Logging level name for :func:`aiinfra_shared.logging.configure`.
    """

    model_config = settings_config("AIINFRA_")

    log_level: str = "INFO"
