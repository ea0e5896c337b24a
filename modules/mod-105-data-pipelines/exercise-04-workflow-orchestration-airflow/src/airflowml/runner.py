"""Run a DAG for real, in this process: ``DAG.test()`` against the local metadata database.

``dag.test()`` is Airflow's own single-process runner: it creates a DAG run in the metadata DB,
and runs each task instance through the task SDK's supervisor as the scheduler would (retries
with their delays, mapped tasks, branches, sensors in reschedule mode, XComs, callbacks, asset
events), without a scheduler or executor. Call :func:`airflowml.home.activate` first.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflowml.errors import AirflowmlError
from airflowml.home import DAGS_FOLDER

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskRow:
    """One task instance of a finished run."""

    task_id: str
    map_index: int
    state: str
    try_number: int
    duration_s: float | None

    @property
    def label(self) -> str:
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"


@dataclass
class RunResult:
    """A finished DAG run."""

    dag_id: str
    run_id: str
    state: str
    wall_s: float
    tasks: list[TaskRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state == "success"

    def states(self) -> dict[str, str]:
        """``{label: state}``, e.g. ``{"train[0]": "success", "deploy": "skipped"}``."""
        return {row.label: row.state for row in self.tasks}

    def task(self, label: str) -> TaskRow:
        for row in self.tasks:
            if row.label == label:
                return row
        raise KeyError(label)


_BAG: Any = None


def dagbag(*, refresh: bool = False) -> Any:
    """Parse the DAG folder once per process.

    dag.test() writes the DAG's whole bundle (this folder) to the metadata DB before it
    runs, as the dag processor would, so the consumers of an asset event are known.
    """
    global _BAG
    if _BAG is None or refresh:
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(
            dag_folder=str(DAGS_FOLDER), bundle_path=DAGS_FOLDER, bundle_name="dags-folder"
        )
        if bag.import_errors:
            problems = "; ".join(
                f"{k}: {v.strip().splitlines()[-1]}" for k, v in bag.import_errors.items()
            )
            raise AirflowmlError(f"DAG import errors: {problems}")
        _BAG = bag
    return _BAG


def dag_ids() -> list[str]:
    return sorted(dagbag().dag_ids)


def schedule_of(dag: Any) -> str:
    """A DAG's schedule in words: a cron expression, the assets, or both."""
    timetable = dag.timetable
    parts = []
    inner = getattr(timetable, "timetable", timetable)
    if getattr(inner, "expression", None):
        parts.append(str(inner.expression))
    condition = getattr(timetable, "asset_condition", None)
    for asset in getattr(condition, "objects", ()) or ():
        parts.append(f"asset {asset.name}")
    return " or ".join(parts) or "manual"


@contextlib.contextmanager
def output_to(path: Path | None) -> Iterator[None]:
    """Send this process's stdout/stderr (file descriptors 1 and 2) to path meanwhile.

    Under dag.test() the tasks' logs, tracebacks of failed tries included, go to the
    process's output; the CLI keeps them in a file, as a worker's task log would.
    """
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def run_dag(
    dag_id: str, conf: dict[str, Any] | None = None, *, log_path: Path | None = None
) -> RunResult:
    """Run one DAG to the end and return the state of every task instance.

    Args:
        dag_id: The DAG.
        conf: The run's conf: checked against the DAG's Params before anything runs.
        log_path: Where the run's task logs go (default: this process's output).

    Raises:
        AirflowmlError: Unknown DAG, or ``conf`` breaks the DAG's Params (nothing ran).
    """
    from airflow.sdk.exceptions import ParamValidationError

    with output_to(log_path):  # parsing logs too
        bag = dagbag()
    dag = bag.dags.get(dag_id)
    if dag is None:
        raise AirflowmlError(f"no DAG {dag_id!r}: choose one of {', '.join(sorted(bag.dag_ids))}")
    conf = dict(conf or {})
    unknown = sorted(set(conf) - set(dag.params))
    if unknown:
        raise AirflowmlError(
            f"unknown conf keys for {dag_id}: {', '.join(unknown)} "
            f"(its params: {', '.join(sorted(dag.params))})"
        )
    try:
        resolved = copy.deepcopy(dag.params)
        for key, value in conf.items():
            resolved[key] = value
        resolved.validate()
    except ParamValidationError as exc:
        raise AirflowmlError(f"invalid conf for {dag_id}: {exc}") from None
    # Every param goes in the conf, defaults included: the task runner writes a run's conf
    # into the params of the DAG object it holds, and in one process that object outlives the
    # run, so a key left out would keep the previous run's value.
    full_conf = {key: resolved[key] for key in resolved}
    start = time.monotonic()
    with output_to(log_path):
        dag_run = dag.test(run_conf=full_conf)
    wall = time.monotonic() - start
    rows = [
        TaskRow(
            task_id=ti.task_id,
            map_index=ti.map_index,
            state=str(ti.state.value if hasattr(ti.state, "value") else ti.state),
            try_number=ti.try_number,
            duration_s=ti.duration,
        )
        for ti in sorted(
            dag_run.get_task_instances(),
            key=lambda t: (t.start_date is None, t.start_date, t.task_id, t.map_index),
        )
    ]
    state = str(dag_run.state.value if hasattr(dag_run.state, "value") else dag_run.state)
    return RunResult(dag_id=dag_id, run_id=dag_run.run_id, state=state, wall_s=wall, tasks=rows)
