"""Errors of servplat: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class ServplatError(AiinfraError):
    """Base class of every error servplat reports to a user."""


class ConfigError(ServplatError):
    """The platform configuration is invalid."""


class BackendUnavailableError(ServplatError):
    """No backend of a route can take the request (every breaker is open)."""


class BackendError(ServplatError):
    """A backend failed: unreachable, timed out, or answered 5xx."""

    def __init__(self, backend: str, message: str, *, timeout: bool = False) -> None:
        super().__init__(f"backend {backend}: {message}")
        self.backend = backend
        self.timeout = timeout
