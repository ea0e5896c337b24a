"""The ``mlcicd`` command.

Exit codes: 0 done, 1 bad input (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

from typing import Annotated

import typer

from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from
from mlcicd.config import Settings
from mlcicd.errors import MlcicdError

app = package_app(
    "106-06: CI/CD for ML: DVC-versioned data, quality gates, workflows, canary deploy with "
    "automatic rollback"
)


@app.command()
def demo(
    workdir: Annotated[
        str | None, typer.Option(help="Where the demo writes (default: a temp dir).")
    ] = None,
) -> None:
    """Show the exercise working (what `aiinfra run 106-06` runs)."""
    settings = settings_from(Settings, MlcicdError)
    console.print(
        f"TODO: the demo of 106-06 (settings: {settings.model_dump()}, workdir {workdir})"
    )


main = run_typer(app)
