"""Settings of ragkit (environment prefix ``RAGKIT_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from aiinfra_shared.config import AiinfraSettings, settings_config


def _default_data_dir() -> Path:
    return Path.home() / ".cache" / "aiinfra" / "ragkit"


class RagSettings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        data_dir: Where the index lives: Chroma's files and the document manifest.
        collection: Chroma collection name (the manifest is ``<collection>-docs``).
        chroma_url: A Chroma server (``http://host:8000``); unset: embedded Chroma in data_dir.
        chunk_size: Characters per chunk (the splitter keeps sentences whole where it can).
        chunk_overlap: Characters shared by neighbouring chunks of one section.
        k: Chunks given to the generator.
        fetch_k: Candidates each retriever returns before fusion, MMR or re-ranking.
        rrf_k: Reciprocal rank fusion constant (60 in Cormack et al., 2009).
        min_similarity: Below this best cosine similarity the answer is "I don't know".
        generator: ``extractive`` (no model) or ``smollm2`` (SmolLM2-135M-Instruct on this CPU,
            needs the ``smollm2`` extra); ignored when ``llm_url`` is set.
        llm_url: OpenAI-compatible endpoint (``http://host:port/v1``); unset: ``generator``.
        llm_model: Model name sent to that endpoint.
        llm_api_key: Key for that endpoint, if it wants one.
        host: API bind address.
        port: API port.
    """

    model_config = settings_config("RAGKIT_")

    data_dir: Path = _default_data_dir()
    collection: str = "ragkit"
    chroma_url: str | None = None
    chunk_size: int = Field(500, ge=50, le=20_000)
    chunk_overlap: int = Field(80, ge=0, le=10_000)
    k: int = Field(4, ge=1, le=50)
    fetch_k: int = Field(20, ge=1, le=1_000)
    rrf_k: int = Field(60, ge=1, le=10_000)
    min_similarity: float = Field(0.3, ge=-1, le=1, allow_inf_nan=False)
    generator: Literal["extractive", "smollm2"] = "extractive"
    llm_url: str | None = None
    llm_model: str = "default"
    llm_api_key: str = "not-needed"
    host: str = "127.0.0.1"
    port: int = Field(8610, ge=1, le=65_535)

    @model_validator(mode="after")
    def _consistent(self) -> RagSettings:
        """Settings that are fine alone but not together (every command would crash later)."""
        if self.chunk_overlap >= self.chunk_size // 2:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be less than half of chunk_size "
                f"({self.chunk_size}): each chunk must move the window forward"
            )
        if self.fetch_k < self.k:
            raise ValueError(f"fetch_k ({self.fetch_k}) must be at least k ({self.k})")
        return self
