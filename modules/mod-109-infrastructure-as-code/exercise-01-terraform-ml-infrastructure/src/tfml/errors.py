"""Errors of tfml: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class TfmlError(AiinfraError):
    """Base class of every error tfml reports to a user."""
