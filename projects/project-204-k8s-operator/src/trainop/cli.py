"""The ``trainop`` command: run the operator, print the CRD, or run the demo."""

from __future__ import annotations

from typing import Annotated

import typer
import yaml
from rich.console import Console

from aiinfra_shared.entrypoint import run_typer
from aiinfra_shared.logging import configure
from trainop.spec import crd_manifest

app = typer.Typer(
    help="204: a Kopf operator for distributed training jobs (MLTrainingJob).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


@app.callback()
def main_callback() -> None:
    configure()


@app.command()
def crd() -> None:
    """Print the CustomResourceDefinition (generated from the code's schema) as YAML."""
    print(yaml.safe_dump(crd_manifest(), sort_keys=False), end="")


@app.command()
def run(
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="Namespaces to watch (default: all)."),
    ] = None,
    kubeconfig: Annotated[
        str | None, typer.Option("--kubeconfig", help="Default $KUBECONFIG or in-cluster.")
    ] = None,
) -> None:
    """Run the operator (``kopf run --standalone -m trainop.handlers``) until Ctrl-C."""
    from aiinfra_shared.operators import run_operator

    run_operator("trainop.handlers", namespace, kubeconfig)


@app.command()
def demo() -> None:
    """Start an API emulator and the operator; run, fail, retry and refuse training jobs."""
    from trainop.demo import run_demo

    run_demo(console)


main = run_typer(app)
