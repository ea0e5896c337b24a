"""The ``modelmon`` command."""

from __future__ import annotations

import typer

from aiinfra_shared.entrypoint import run_typer
from aiinfra_shared.logging import configure

app = typer.Typer(
    help="ML model monitoring: an instrumented service, a custom exporter, promtool-tested rules, a generated dashboard",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """Configure logging once for every sub-command."""
    configure()


@app.command()
def demo() -> None:
    """Show the exercise working (what `aiinfra run 108-02` runs)."""
    typer.echo("TODO: the demo of 108-02")


main = run_typer(app)
