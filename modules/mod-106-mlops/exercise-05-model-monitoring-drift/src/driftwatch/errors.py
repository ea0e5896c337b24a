"""Errors of driftwatch: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class DriftwatchError(AiinfraError):
    """Base class of every error driftwatch reports to a user."""


class DataError(DriftwatchError):
    """An input file or frame that cannot be analysed (missing columns, wrong types, empty)."""


class HookError(DriftwatchError):
    """A retrain hook could not deliver its request (it stays in the outbox for a retry)."""


class SmallSampleError(DataError):
    """A window too small for a drift test to mean anything (it is skipped, not quarantined)."""
