"""Console-script entry points (kept for imports written before :mod:`aiinfra_shared.cliapp`).

New code imports ``run_typer`` from :mod:`aiinfra_shared.cliapp`, next to ``package_app``.
"""

from __future__ import annotations

from aiinfra_shared.cliapp import run_typer

__all__ = ["run_typer"]
