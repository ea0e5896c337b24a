"""Errors of costlens: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class CostlensError(AiinfraError):
    """Base class of every error costlens reports to a user."""
