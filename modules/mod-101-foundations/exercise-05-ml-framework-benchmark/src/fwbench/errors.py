"""Errors of fwbench: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class FwbenchError(AiinfraError):
    """Base class of every error fwbench reports to a user."""


class ConfigError(FwbenchError):
    """A benchmark request that cannot run: unknown framework or model, bad CPU list."""


class ReportError(FwbenchError):
    """A results file that is missing, unreadable or not an fwbench result."""
