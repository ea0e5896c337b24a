"""How fast can runs log to an MLflow server, and what does a tracked training run cost?

Run: ``uv run aiinfra exec 106-04 -- python benchmarks/bench_logging.py`` (starts its own
server), or set ``MLFLOW_TRACKING_URI`` to measure a server you already have. Prints two tables:

1. metric points per second from 1 and 4 processes, one step per request vs 50;
2. wall time of one tracked training run per model kind, against the same model untracked.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack

from rich.console import Console
from rich.table import Table


def main() -> None:
    import mlflow
    from exptrack.concurrency import log_concurrently
    from exptrack.data import load_dataset
    from exptrack.models import ModelSpec, fit
    from exptrack.server import connect
    from exptrack.train import train_run

    console = Console()
    with ExitStack() as stack:
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            from aiinfra_shared.services import mlflow as launcher

            with console.status("starting mlflow server..."):
                uri = stack.enter_context(launcher.mlflow()).url
        connect(uri, "benchmarks")

        table = Table("processes", "steps/request", "points", "seconds", "points/s")
        for processes in (1, 4):
            for batch in (1, 50):
                with mlflow.start_run(run_name=f"load-{processes}x{batch}") as run:
                    pass
                result = log_concurrently(
                    uri, run.info.run_id, processes=processes, steps=200, batch=batch
                )
                table.add_row(
                    str(processes),
                    str(batch),
                    str(result.points),
                    f"{result.seconds:.2f}",
                    f"{result.rate:,.0f}",
                )
        console.print(table)

        data = load_dataset()
        # Warm-up: the first tracked run in a process pays one-off imports (mlflow.data,
        # the flavors, matplotlib); leave them out of the per-kind figures.
        train_run(ModelSpec.parse("logreg", "epochs=1"), data, run_name="warm-up")
        runs = Table("model", "untracked s", "tracked s", "tracking overhead s")
        for kind, params in (("logreg", ""), ("forest", ""), ("gbm", ""), ("mlp", "")):
            spec = ModelSpec.parse(kind, params)
            fit(spec, data)  # warm-up: first-call imports (torch's optimiser pulls in dynamo)
            start = time.perf_counter()
            fit(spec, data)
            bare = time.perf_counter() - start
            start = time.perf_counter()
            train_run(spec, data)
            tracked = time.perf_counter() - start
            runs.add_row(spec.label, f"{bare:.2f}", f"{tracked:.2f}", f"{tracked - bare:.2f}")
        console.print(runs)


if __name__ == "__main__":
    main()
