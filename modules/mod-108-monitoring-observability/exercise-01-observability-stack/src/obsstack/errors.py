"""Errors of obsstack: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class ObsstackError(AiinfraError):
    """Base class of every error obsstack reports to a user."""
