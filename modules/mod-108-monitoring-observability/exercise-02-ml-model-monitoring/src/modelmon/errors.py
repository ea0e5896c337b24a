"""Errors of modelmon: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class ModelmonError(AiinfraError):
    """Base class of every error modelmon reports to a user."""
