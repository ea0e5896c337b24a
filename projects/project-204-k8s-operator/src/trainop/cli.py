"""The ``trainop`` command: ``crd`` prints the CRD, ``run`` runs the operator, ``demo`` shows it.

Exit codes: 0 done, 1 bad input or no API server (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

from typing import Any

from aiinfra_shared.cliapp import run_typer
from aiinfra_shared.operators import operator_app
from trainop.spec import crd_manifest


def _demo(console: Any) -> None:
    from trainop.demo import run_demo

    run_demo(console)


app = operator_app(
    help_text="204: a Kopf operator for distributed training jobs (MLTrainingJob).",
    handlers="trainop.handlers",
    crd=crd_manifest,
    demo=_demo,
    demo_help="Start an API emulator and the operator; run, fail, retry and refuse training jobs.",
)
main = run_typer(app)
