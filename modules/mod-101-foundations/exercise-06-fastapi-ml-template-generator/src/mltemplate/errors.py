"""Errors of mltemplate: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class MltemplateError(AiinfraError):
    """Base class of every error mltemplate reports to a user."""
