"""Errors of ddptrain: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class DdptrainError(AiinfraError):
    """Base class of every error ddptrain reports to a user."""


class ConfigError(DdptrainError):
    """A training configuration that cannot run (batch split, precision on this hardware)."""


class CheckpointError(DdptrainError):
    """A checkpoint that is unreadable or was written by an incompatible configuration."""


class LaunchError(DdptrainError):
    """torchrun (or Ray) finished without a result: the workers failed for good."""
