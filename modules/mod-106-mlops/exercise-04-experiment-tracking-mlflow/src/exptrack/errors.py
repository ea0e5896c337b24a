"""Errors of exptrack: a user mistake is one line on stderr and a non-zero exit, never a trace."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class ExptrackError(AiinfraError):
    """Bad input or an unusable server: unknown experiment, model or alias, bad CSV, no server."""


class GateRefusedError(ExptrackError):
    """A promotion gate failed: the champion was left where it was.

    Attributes:
        reasons: One line per failed gate.
    """

    exit_code = 3

    def __init__(self, model: str, version: str, reasons: list[str]) -> None:
        self.reasons = reasons
        joined = "; ".join(reasons)
        super().__init__(f"promotion of {model} v{version} refused: {joined}")
