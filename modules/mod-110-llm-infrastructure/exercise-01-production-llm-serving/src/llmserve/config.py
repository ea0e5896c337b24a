"""Settings of llmserve (environment prefix ``LLMSERVE_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from aiinfra_shared.config import AiinfraSettings, settings_config


def _default_cache() -> Path:
    return Path.home() / ".cache" / "aiinfra" / "llmserve"


class Settings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        model: ``tiny`` (built here in seconds), ``smollm2`` (SmolLM2-135M-Instruct, the
            ``smollm2`` extra) or the path of any local Hugging Face model folder.
        served_name: The model id in the API (default: ``tiny``, ``smollm2`` or the folder).
        engine: ``cpu`` (transformers, continuous batching here) or ``vllm`` (a GPU host
            with vLLM installed).
        cache_dir: Where the tiny model is built.
        host: Bind address.
        port: Port.
        max_batch_size: Sequences decoded together; 1 turns batching off.
        max_batch_tokens: KV-cache budget (tokens) across the running batch.
        max_queue: Requests that may wait beyond a full batch; more get 429.
        max_tokens_limit: The largest ``max_tokens`` a request may ask for.
        default_max_tokens: ``max_tokens`` when a chat request gives none.
        max_prompt_tokens: The longest prompt accepted, in tokens.
        request_timeout: Seconds a request may take before it is cut off.
        api_keys: Accepted bearer keys; empty: no authentication.
        rate_limit_rpm: Requests per minute per key (or per client address); 0: unlimited.
        rate_limit_burst: Requests a key may send at once before the rate applies.
        cost_per_hour: Price of the machine in dollars per hour, for per-request cost.
        threads: torch threads (default: torch's choice).
        gpu_memory_utilization: vLLM's share of GPU memory.
    """

    model_config = settings_config("LLMSERVE_")

    model: str = "tiny"
    served_name: str | None = None
    engine: Literal["cpu", "vllm"] = "cpu"
    cache_dir: Path = Field(default_factory=_default_cache)
    host: str = "127.0.0.1"
    port: int = 8600
    max_batch_size: int = Field(default=8, ge=1, le=256)
    max_batch_tokens: int = Field(default=8192, ge=16)
    max_queue: int = Field(default=32, ge=0)
    max_tokens_limit: int = Field(default=512, ge=1)
    default_max_tokens: int = Field(default=128, ge=1)
    max_prompt_tokens: int = Field(default=1024, ge=1)
    request_timeout: float = Field(default=60.0, gt=0)
    api_keys: list[str] = Field(default_factory=list)
    rate_limit_rpm: int = Field(default=0, ge=0)
    rate_limit_burst: int = Field(default=10, ge=1)
    cost_per_hour: float = Field(default=1.0, ge=0)
    threads: int | None = None
    gpu_memory_utilization: float = Field(default=0.85, gt=0, le=1)
