"""Errors of cloudinfra: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class CloudinfraError(AiinfraError):
    """Base class of every error cloudinfra reports to a user."""
