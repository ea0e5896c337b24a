"""Console-script entry points: user mistakes become one line and exit 1, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer
from rich.console import Console

from aiinfra_shared.errors import AiinfraError


def run_typer(app: typer.Typer) -> Callable[[], None]:
    """Wrap a Typer app for ``[project.scripts]``.

    Example:
        ``main = run_typer(app)`` in ``cli.py``, and ``mlapi = "mlapi.cli:main"``.

    Returns:
        A function that runs ``app`` and turns :class:`AiinfraError` (and subclasses) into
        ``error: <message>`` on stderr with exit code 1.
    """

    def main() -> None:
        try:
            app()
        except AiinfraError as exc:
            Console(stderr=True).print(f"[red]error:[/] {exc}", highlight=False)
            sys.exit(1)

    return main
