"""Errors of llmserve: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class LlmServeError(AiinfraError):
    """Base class of every error llmserve reports to a user."""


class ModelError(LlmServeError):
    """A model that cannot be built, found or loaded."""


class EngineError(LlmServeError):
    """The engine cannot serve a request (not started, unsupported model, stopped)."""


class QueueFullError(EngineError):
    """Too many requests are waiting; the client should retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
