"""Errors of mlcicd: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class MlcicdError(AiinfraError):
    """Base class of every error mlcicd reports to a user."""
