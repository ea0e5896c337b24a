"""The base exception of the shared package."""

from __future__ import annotations


class AiinfraError(Exception):
    """A user-facing error: CLIs print its message on one line and exit non-zero.

    Packages derive their own base exception from it (``class MlapiError(AiinfraError)``)
    so the shared CLI helpers can tell a user mistake from a bug.
    """
