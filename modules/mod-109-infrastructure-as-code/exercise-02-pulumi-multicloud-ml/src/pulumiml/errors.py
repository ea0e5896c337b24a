"""Errors of pulumiml: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class PulumimlError(AiinfraError):
    """Base class of every error pulumiml reports to a user."""
