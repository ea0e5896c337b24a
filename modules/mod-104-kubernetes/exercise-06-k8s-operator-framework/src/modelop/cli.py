"""The ``modelop`` command: run the operator, print the CRD, or run the demo.

Exit codes: 0 done, 1 bad input or no API server (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

from typing import Annotated

import typer
import yaml
from rich.console import Console

from aiinfra_shared.entrypoint import run_typer
from aiinfra_shared.logging import configure
from modelop.spec import crd_manifest

app = typer.Typer(
    help="104-06: a Kopf operator for the MLModel custom resource.",
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
    """Run the operator (``kopf run --standalone -m modelop.handlers``) until Ctrl-C."""
    from aiinfra_shared.operators import run_operator

    run_operator("modelop.handlers", namespace, kubeconfig)


@app.command()
def demo() -> None:
    """Start an API emulator and the operator; apply, update and delete sample MLModels."""
    from modelop.demo import run_demo

    run_demo(console)


main = run_typer(app)
