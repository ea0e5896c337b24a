"""The policy gate of this exercise: checkov with the repo's severity table (aiinfra-shared)
and this exercise's custom checks (``policies/``: ingress open to the internet, any port)."""

from __future__ import annotations

from pathlib import Path

from aiinfra_shared.iac.checkov import CheckovReport, run_checkov
from tfml.paths import policies_dir


def gate(path: Path) -> CheckovReport:
    """checkov over ``path`` with our custom checks; ``report.ok`` is the verdict."""
    return run_checkov(path, policies=[policies_dir()])
