"""110-01: production LLM serving: an OpenAI-compatible API over a continuous-batching CPU
engine, and vLLM on GPU hosts."""

from __future__ import annotations

__version__ = "0.1.0"
