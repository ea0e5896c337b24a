"""A hyperparameter sweep: one parent run, one nested child run per trial."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from exptrack.data import Dataset
from exptrack.errors import ExptrackError
from exptrack.models import ModelSpec
from exptrack.server import owner_tags
from exptrack.train import RunResult, train_run

# Four kinds, two of them at two settings: enough spread for the gates to have work to do.
DEFAULT_TRIALS = (
    "logreg:alpha=0.0001",
    "logreg:alpha=0.1",
    "forest:max_depth=3",
    "forest:max_depth=8",
    "gbm:learning_rate=0.1",
    "mlp:hidden=32",
)


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep.

    Attributes:
        parent_run_id: The sweep's parent run.
        trials: One result per child run, in the order they ran.
        best: The trial with the highest ``metric``.
        metric: The metric that ranked them.
    """

    parent_run_id: str
    trials: list[RunResult]
    best: RunResult
    metric: str


def parse_trial(text: str) -> ModelSpec:
    """``kind`` or ``kind:key=value,key=value`` to a spec."""
    kind, _, params = text.partition(":")
    return ModelSpec.parse(kind.strip(), params)


def run_sweep(
    data: Dataset,
    trials: Sequence[str] = DEFAULT_TRIALS,
    *,
    metric: str = "val_f1",
    seed: int = 42,
    name: str = "sweep",
    console: Console | None = None,
) -> SweepResult:
    """Train every trial as a child of one parent run, with a progress bar.

    Raises:
        ExptrackError: A bad trial (checked before anything is logged) or an unknown metric.
    """
    import mlflow

    specs = [parse_trial(t) for t in trials]
    if not specs:
        raise ExptrackError("a sweep needs at least one trial")
    results: list[RunResult] = []
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )
    parent_tags = {"run_kind": "sweep", "dataset": data.name, **owner_tags()}
    with (
        mlflow.start_run(run_name=name, tags=parent_tags) as parent,
        progress,
    ):
        mlflow.log_params({"trials": len(specs), "metric": metric, "seed": seed})
        overall = progress.add_task("sweep", total=len(specs))
        for spec in specs:
            epochs = progress.add_task(f"  {spec.label}", total=None)

            def tick(_step: int, _row: dict[str, float], task: TaskID = epochs) -> None:
                progress.advance(task)

            result = train_run(spec, data, seed=seed, nested=True, on_epoch=tick)
            progress.update(epochs, total=progress.tasks[epochs].completed)
            results.append(result)
            progress.advance(overall)
        if metric not in results[0].metrics:
            raise ExptrackError(
                f"unknown metric {metric!r}; runs have {', '.join(sorted(results[0].metrics))}"
            )
        best = max(results, key=lambda r: r.metrics[metric])
        mlflow.log_metric(f"best_{metric}", best.metrics[metric])
        mlflow.set_tags({"best_run_id": best.run_id, "best_model": best.spec.label})
    return SweepResult(parent.info.run_id, results, best, metric)
