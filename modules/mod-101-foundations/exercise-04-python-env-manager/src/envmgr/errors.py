"""Errors of envmgr: one base class, turned into a one-line message by the CLI."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class EnvmgrError(AiinfraError):
    """Base class of every error envmgr reports to a user."""


class SpecError(EnvmgrError):
    """The spec file is missing or invalid (the message names the file and line)."""


class ToolError(EnvmgrError):
    """A tool (uv, pip, poetry, conda) failed; the message carries its own explanation."""


class PythonNotFoundError(EnvmgrError):
    """The spec asks for a Python that is not installed (the message names those that are)."""


class LockError(EnvmgrError):
    """No lock, a stale one, or one without hashes."""
