"""Errors of incidents: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class IncidentsError(AiinfraError):
    """Base class of every error incidents reports to a user."""
