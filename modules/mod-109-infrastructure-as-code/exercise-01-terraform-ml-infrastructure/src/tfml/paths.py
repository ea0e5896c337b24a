"""Where the shipped Terraform, policies and price tables live (repo checkout or wheel)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tfml.errors import TfmlError


def _find(name: str) -> Path:
    here = Path(__file__).resolve()
    # In the repo: <package>/<name>; in a wheel: tfml/<name> (hatch force-include).
    for candidate in (here.parents[2] / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    raise TfmlError(f"the shipped {name}/ folder is missing near {here}")


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


@contextmanager
def scratch_tree() -> Iterator[Path]:
    """A throwaway copy of ``terraform/`` to run ``init``/``test``/``validate`` in.

    ``terraform init`` writes ``.terraform/`` next to the code; the shipped tree (maybe a
    read-only site-packages) stays untouched.
    """
    with tempfile.TemporaryDirectory(prefix="tfml-") as tmp:
        copy = Path(tmp) / "terraform"
        shutil.copytree(
            terraform_dir(), copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*")
        )
        yield copy
