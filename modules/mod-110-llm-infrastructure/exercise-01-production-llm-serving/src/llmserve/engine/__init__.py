"""Engines turn prompts into token streams. One interface, two implementations:

- :class:`llmserve.engine.cpu.CPUEngine`: transformers + torch with continuous batching of its
  own (this package's scheduler), on any local Hugging Face model folder;
- :class:`llmserve.engine.vllm.VLLMEngine`: vLLM's async engine on a GPU (installed
  separately: it pins a CUDA build of torch).

The HTTP layer only sees :class:`Engine`: it tokenizes, opens a :class:`RequestStream` of
:class:`Delta` objects per request and reads :class:`EngineStats`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

#: Why a stream ended: a stop token or string, max_tokens / the context, the client went away,
#: the engine was shut down.
FINISH_REASONS = ("stop", "length", "cancelled", "aborted")


@dataclass(frozen=True)
class SamplingParams:
    """How to pick tokens. ``temperature == 0`` is greedy; ``seed`` makes sampling repeatable;
    ``ignore_eos`` keeps generating past the end token, up to ``max_tokens`` (vLLM's option of
    the same name, for benchmarks that need answers of a fixed length)."""

    max_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    ignore_eos: bool = False


@dataclass(frozen=True)
class Usage:
    """What one request cost.

    Attributes:
        prompt_tokens: Tokens in the prompt.
        completion_tokens: Tokens generated.
        queue_seconds: From arrival to admission into the running batch.
        ttft_seconds: From arrival to the first token.
        compute_seconds: The request's share of engine time: its prefill, plus each decode
            step's duration divided by the batch size of that step. What batching saves.
    """

    prompt_tokens: int
    completion_tokens: int
    queue_seconds: float = 0.0
    ttft_seconds: float | None = None
    compute_seconds: float = 0.0


@dataclass(frozen=True)
class Delta:
    """One piece of a request's stream: new text, and on the last piece why it ended."""

    text: str = ""
    token_ids: tuple[int, ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None


@dataclass(frozen=True)
class EngineStats:
    """A snapshot of the engine for readiness, metrics and 429 decisions.

    ``kv_tokens`` counts KV-cache tokens *reserved* by running requests (prompt plus
    ``max_tokens`` each) against ``kv_capacity``; ``accepting`` is false once stopped.
    """

    waiting: int
    running: int
    max_batch_size: int
    kv_tokens: int
    kv_capacity: int
    accepting: bool = True
    steps: int = 0
    batch_sizes: dict[int, int] = field(default_factory=dict)


class RequestStream(Protocol):
    """The deltas of one submitted request; the last has a ``finish_reason``.

    ``aclose()`` before the end cancels the request, which frees its batch slot.
    """

    def __aiter__(self) -> AsyncIterator[Delta]:
        """Itself."""
        ...

    async def __anext__(self) -> Delta:
        """The next delta."""
        ...

    async def aclose(self) -> None:
        """Stop listening; cancels the request if it is still generating."""
        ...


class Engine(Protocol):
    """What the HTTP server needs from an engine."""

    name: str
    max_model_len: int

    def encode_prompt(self, prompt: str) -> list[int]:
        """Token ids of a completion prompt."""
        ...

    def encode_chat(self, messages: list[dict[str, str]]) -> list[int]:
        """Token ids of a chat, through the model's chat template, ready for the answer."""
        ...

    def start(self) -> None:
        """Begin serving (load, start the scheduler)."""
        ...

    def stop(self) -> None:
        """Stop serving; running streams end with ``aborted``."""
        ...

    def stats(self) -> EngineStats:
        """Current queue, batch and cache use."""
        ...

    def open(self, prompt_ids: list[int], params: SamplingParams) -> RequestStream:
        """Submit a request now (call it inside the event loop) and return its stream.

        Raises:
            QueueFullError: Too many requests are waiting.
            EngineError: The engine is not running, or the request can never fit.
        """
        ...
