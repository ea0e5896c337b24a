"""Errors featstream reports to a user: one base class, turned into one line by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class FeatstreamError(AiinfraError):
    """Base class of every error featstream reports to a user."""


class BrokerUnavailableError(FeatstreamError):
    """No Kafka broker answers at the configured bootstrap address."""


class SinkError(FeatstreamError):
    """The feature sink cannot be opened or has an incompatible schema."""


class EntityNotFoundError(FeatstreamError):
    """No features exist for the requested entity."""
