"""Settings of mlapi: environment variables ``MLAPI_*`` or a ``.env`` file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from aiinfra_shared.config import AiinfraSettings, settings_config


class MlapiSettings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        model_dir: Where ``mlapi train`` writes the model and the server reads it.
        host: Bind address of ``mlapi serve`` (loopback by default; ``0.0.0.0`` in a container).
        port: Port of ``mlapi serve``.
        api_key: Key for the admin routes (``X-API-Key`` header). Unset: admin routes are off.
        max_body_bytes: Requests with a larger body get 413 before any parsing.
        epochs: Training epochs.
        learning_rate: Adam learning rate.
        hidden: Hidden layer width.
        seed: Seed for the data split and the weights (same seed, same model).
        torch_threads: torch intra-op threads in the server. 1: the model is tiny, and more
            threads would compete with the event loop for the cores.
        bench_routes: Also serve ``POST /bench/noop`` (reads a body, returns ``{}``; not in
            the OpenAPI document): the baseline of ``benchmarks/bench_latency.py``.
    """

    model_config = settings_config("MLAPI_")

    model_dir: Path = Path("artifacts/mlapi")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    api_key: SecretStr | None = None
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    epochs: int = Field(default=300, ge=1, le=100_000)
    learning_rate: float = Field(default=0.05, gt=0, le=1)
    hidden: int = Field(default=16, ge=2, le=1024)
    seed: int = 7
    torch_threads: int = Field(default=1, ge=1, le=256)
    bench_routes: bool = False
