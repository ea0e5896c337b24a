"""Errors of trainop: a user mistake is one line on stderr and a non-zero exit."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class TrainopError(AiinfraError):
    """Bad input or an unreachable API server."""
