"""Errors of gpuperf: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class GpuperfError(AiinfraError):
    """Base class of every error gpuperf reports to a user."""


class ConfigError(GpuperfError):
    """A configuration that cannot run here (fp16 without CUDA, workers options without workers)."""


class ReportError(GpuperfError):
    """A results file that is missing, unreadable or not a gpuperf result."""
