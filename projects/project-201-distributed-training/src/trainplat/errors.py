"""Errors of trainplat: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class TrainplatError(AiinfraError):
    """Base class of every error trainplat reports to a user."""


class SpecError(TrainplatError):
    """A job spec that does not parse or does not validate."""


class JobFailedError(TrainplatError):
    """A training job or a tuning run that failed for good (retries used up)."""
