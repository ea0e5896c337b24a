"""The OpenAI wire format: requests we accept, and the bodies and chunks we send back.

Only what the server implements is accepted: ``n`` must be 1, and there are no logprobs or
tools. Fields the official client sends that change nothing here (``user``, ``logprobs: null``
and the like) are ignored rather than refused, as OpenAI-compatible servers commonly do.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aiinfra_shared.jsontypes import JsonBool, JsonFloat, NumberOnly
from llmserve.engine import SamplingParams, Usage


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    max_tokens: Annotated[int, Field(ge=1), NumberOnly] | None = None
    temperature: Annotated[JsonFloat, Field(ge=0.0, le=2.0)] = 1.0
    top_p: Annotated[JsonFloat, Field(gt=0.0, le=1.0)] = 1.0
    n: Annotated[int, Field(ge=1, le=1, description="Only one choice per request."), NumberOnly] = 1
    stream: JsonBool = False
    stop: str | list[str] | None = None
    seed: Annotated[int, Field(ge=0, le=2**63 - 1), NumberOnly] | None = None
    stream_options: dict[str, Any] | None = None
    ignore_eos: JsonBool = Field(
        default=False,
        description="vLLM's extension: generate exactly "
        "max_tokens, past the end token (benchmarks).",
    )

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        stops = [value] if isinstance(value, str) else value or []
        if len(stops) > 4 or any(not s for s in stops):
            raise ValueError("stop takes up to 4 non-empty strings")
        return value

    def sampling(self, max_tokens: int) -> SamplingParams:
        """Engine sampling parameters for this request."""
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return SamplingParams(
            max_tokens=max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.seed,
            stop=tuple(stops),
            ignore_eos=self.ignore_eos,
        )

    @property
    def include_usage(self) -> bool:
        """``stream_options: {"include_usage": true}``: a last chunk with the usage."""
        return bool((self.stream_options or {}).get("include_usage"))


class CompletionRequest(_Request):
    """``POST /v1/completions`` (OpenAI's default ``max_tokens`` there is 16)."""

    prompt: (
        Annotated[str, Field(min_length=1)]
        | Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1, max_length=1)]
    ) = Field(description="One non-empty prompt (a string, or a list holding one).")

    @property
    def text(self) -> str:
        """The prompt."""
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]


class ChatMessage(BaseModel):
    """One message; text content only."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant"]
    content: str


class ChatCompletionRequest(_Request):
    """``POST /v1/chat/completions``."""

    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: Annotated[int, Field(ge=1), NumberOnly] | None = None

    @property
    def requested_max_tokens(self) -> int | None:
        """``max_completion_tokens`` (the newer name) or ``max_tokens``."""
        return self.max_completion_tokens or self.max_tokens


def error_body(
    message: str,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def usage_body(usage: Usage | None, cost_per_hour: float) -> dict[str, Any]:
    """``usage`` with OpenAI's three counts, plus this server's timing and cost estimate."""
    from llmserve.metrics import request_cost

    if usage is None:
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "queue_seconds": round(usage.queue_seconds, 4),
        "time_to_first_token_seconds": (
            None if usage.ttft_seconds is None else round(usage.ttft_seconds, 4)
        ),
        "estimated_cost_usd": round(request_cost(usage, cost_per_hour), 8),
    }


class Ids:
    """Id and creation time shared by a response and all of its chunks."""

    def __init__(self, prefix: str) -> None:
        self.id = f"{prefix}-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
