"""What every route shares, and the checks made before a request costs any work."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from llmserve.api.errors import ApiError
from llmserve.config import Settings
from llmserve.engine import Engine, RequestStream, SamplingParams
from llmserve.errors import EngineError, QueueFullError
from llmserve.metrics import LlmMetrics
from llmserve.ratelimit import RateLimiter


@dataclass
class ApiState:
    """The app's shared objects (``app.state.api``; routes get it with :func:`get_state`)."""

    engine: Engine
    settings: Settings
    metrics: LlmMetrics
    limiter: RateLimiter

    def admit(self, request: Request, model: str) -> None:
        """Key, rate limit and model checks, before any work.

        Raises:
            ApiError: 401 wrong key, 429 over the key's rate, 404 another model.
        """
        settings, metrics = self.settings, self.metrics
        header = request.headers.get("authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if settings.api_keys and key not in settings.api_keys:
            metrics.rejected.labels("unauthorized").inc()
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
        who = key or (request.client.host if request.client else "unknown")
        allowed, _, retry = self.limiter.acquire(who)
        if not allowed:
            metrics.rejected.labels("rate_limited").inc()
            raise ApiError(
                429,
                f"Rate limit reached: {settings.rate_limit_rpm} requests per minute.",
                "requests",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(retry)},
            )
        if model != self.engine.name:
            raise ApiError(
                404,
                f"The model '{model}' does not exist; this server serves '{self.engine.name}'.",
                param="model",
                code="model_not_found",
            )

    def limits(self, prompt_ids: list[int], requested: int | None, default: int, param: str) -> int:
        """Check prompt and output lengths; return max_tokens.

        Raises:
            ApiError: 400 when the prompt, ``max_tokens`` or both do not fit.
        """
        settings, engine = self.settings, self.engine
        if len(prompt_ids) > settings.max_prompt_tokens:
            raise ApiError(
                400,
                f"The prompt has {len(prompt_ids)} tokens; this server accepts "
                f"at most {settings.max_prompt_tokens}.",
                param=param,
                code="context_length_exceeded",
            )
        max_tokens = requested or min(default, settings.max_tokens_limit)
        if max_tokens > settings.max_tokens_limit:
            raise ApiError(
                400,
                f"max_tokens is {max_tokens}; the limit is {settings.max_tokens_limit}.",
                param="max_tokens",
            )
        if len(prompt_ids) + max_tokens > engine.max_model_len:
            raise ApiError(
                400,
                f"The prompt ({len(prompt_ids)} tokens) plus max_tokens "
                f"({max_tokens}) exceeds the model's context of "
                f"{engine.max_model_len} tokens.",
                param=param,
                code="context_length_exceeded",
            )
        return max_tokens

    def open_stream(self, prompt_ids: list[int], params: SamplingParams) -> RequestStream:
        """Queue the request in the engine.

        Raises:
            ApiError: 429 + ``Retry-After`` when the queue is full, 503 when the engine is down.
        """
        try:
            return self.engine.open(prompt_ids, params)
        except QueueFullError as exc:
            self.metrics.rejected.labels("queue_full").inc()
            raise ApiError(
                429,
                f"The server is at capacity: {exc}. Retry later.",
                "server_overloaded",
                code="queue_full",
                headers={"Retry-After": str(exc.retry_after)},
            ) from None
        except EngineError as exc:
            raise ApiError(503, str(exc), "server_error", code="engine_unavailable") from None


def get_state(request: Request) -> ApiState:
    """The FastAPI dependency that hands a route the app's :class:`ApiState`."""
    state: ApiState = request.app.state.api
    return state
