"""The ``tfml`` command."""

from __future__ import annotations

import typer

from aiinfra_shared.entrypoint import run_typer
from aiinfra_shared.logging import configure

app = typer.Typer(
    help="Reusable Terraform modules for ML infrastructure: validated, policy-checked, costed",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _setup() -> None:
    """Configure logging once for every sub-command."""
    configure()


@app.command()
def demo() -> None:
    """Show the exercise working (what `aiinfra run 109-01` runs)."""
    typer.echo("TODO: the demo of 109-01")


main = run_typer(app)
