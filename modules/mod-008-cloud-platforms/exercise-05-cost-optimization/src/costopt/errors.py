"""Errors of costopt: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class CostoptError(AiinfraError):
    """Base class of every error costopt reports to a user."""
