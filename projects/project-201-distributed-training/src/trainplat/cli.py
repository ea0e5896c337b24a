"""The ``trainplat`` command."""

from __future__ import annotations

import typer

from aiinfra_shared.entrypoint import run_typer
from aiinfra_shared.logging import configure

app = typer.Typer(help="Ray training platform: job specs to TorchTrainer with fault tolerance, Ray Tune ASHA search, MLflow tracking, KubeRay", no_args_is_help=True, add_completion=False)


@app.callback()
def _setup() -> None:
    """Configure logging once for every sub-command."""
    configure()


@app.command()
def demo() -> None:
    """Show the exercise working (what `aiinfra run 201` runs)."""
    typer.echo("TODO: the demo of 201")


main = run_typer(app)
