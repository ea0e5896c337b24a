"""The ``modelop`` command: ``crd`` prints the CRD, ``run`` runs the operator, ``demo`` shows it.

Exit codes: 0 done, 1 bad input or no API server (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

from typing import Any

from aiinfra_shared.cliapp import run_typer
from aiinfra_shared.operators import operator_app
from modelop.spec import crd_manifest


def _demo(console: Any) -> None:
    from modelop.demo import run_demo

    run_demo(console)


app = operator_app(
    help_text="104-06: a Kopf operator for the MLModel custom resource.",
    handlers="modelop.handlers",
    crd=crd_manifest,
    demo=_demo,
    demo_help="Start an API emulator and the operator; apply, update and delete MLModels.",
)
main = run_typer(app)
