"""Errors of ragkit: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class RagkitError(AiinfraError):
    """Base class of every error ragkit reports to a user."""


class UnsupportedFileError(RagkitError):
    """A file type ingestion does not read."""


class CorruptFileError(RagkitError):
    """A file that cannot be parsed or holds no text."""


class UnknownDocumentError(RagkitError):
    """A document id that is not in the index."""


class GeneratorError(RagkitError):
    """The language model endpoint failed or is unreachable."""


class DocumentConflictError(RagkitError):
    """An upload's key names a stored document with other content (and replace was off)."""
