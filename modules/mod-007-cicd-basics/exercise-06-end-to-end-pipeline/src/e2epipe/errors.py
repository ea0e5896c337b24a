"""Errors of e2epipe: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class E2epipeError(AiinfraError):
    """Base class of every error e2epipe reports to a user."""
