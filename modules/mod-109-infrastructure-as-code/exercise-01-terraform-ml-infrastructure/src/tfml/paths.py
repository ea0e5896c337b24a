"""Where the shipped Terraform, policies and price tables live (repo checkout or wheel)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from aiinfra_shared.iac.paths import scratch_copy, shipped_dir
from tfml.errors import TfmlError


def _find(name: str) -> Path:
    # In the repo: <package>/<name>; in a wheel: tfml/<name> (hatch force-include).
    return shipped_dir(__file__, name, TfmlError)


def terraform_dir() -> Path:
    """``terraform/``: ``modules/``, ``platform/`` and ``environments/``."""
    return _find("terraform")


def policies_dir() -> Path:
    """``policies/``: custom checkov checks and the severity table."""
    return _find("policies")


def environments() -> dict[str, Path]:
    """Environment name -> its root configuration folder."""
    root = terraform_dir() / "environments"
    return {p.name: p for p in sorted(root.iterdir()) if (p / "main.tf").is_file()}


def modules() -> dict[str, Path]:
    """Reusable module name -> folder."""
    root = terraform_dir() / "modules"
    return {p.name: p for p in sorted(root.iterdir()) if any(p.glob("*.tf"))}


def scratch_tree() -> AbstractContextManager[Path]:
    """A throwaway copy of ``terraform/`` to run ``init``/``test``/``validate`` in.

    ``terraform init`` writes ``.terraform/`` next to the code; the shipped tree (maybe a
    read-only site-packages) stays untouched.
    """
    return scratch_copy(terraform_dir(), "tfml-")
