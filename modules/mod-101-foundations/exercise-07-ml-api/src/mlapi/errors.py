"""Errors mlapi reports to a user: one base class, turned into one line by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class MlapiError(AiinfraError):
    """Base class of every error mlapi reports to a user."""


class DatasetError(MlapiError):
    """The training CSV is missing, malformed, or has values out of range."""


class ModelNotFoundError(MlapiError):
    """No trained model in the model directory."""


class InvalidModelError(MlapiError):
    """The model directory holds files that are not a valid mlapi model."""
