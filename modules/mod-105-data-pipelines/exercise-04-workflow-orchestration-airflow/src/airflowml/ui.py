"""What the CLI and the demo print about DAG runs (kept apart so neither imports the other)."""

from __future__ import annotations

import time
from typing import Any

from rich.table import Table

from aiinfra_shared.cliapp import console
from airflowml.config import AirflowmlSettings

STATE_STYLE = {
    "success": "green",
    "failed": "red",
    "upstream_failed": "red",
    "skipped": "yellow",
    "up_for_retry": "yellow",
}


def run_logged(settings: AirflowmlSettings, dag_id: str, conf: dict[str, Any]) -> Any:
    """Run a DAG with its task logs in <home>/airflow/logs/runs/<dag>-<time>.log."""
    from airflowml.runner import run_dag

    log = settings.airflow_home / "logs" / "runs" / f"{dag_id}-{time.strftime('%Y%m%dT%H%M%S')}.log"
    console.print(f"running {dag_id} (task logs: {log}) ...", highlight=False)
    return run_dag(dag_id, conf, log_path=log)


def print_run(result: Any) -> None:
    """A Rich table of a run's task instances: state, try, duration."""
    title = f"{result.dag_id} · {result.run_id} · {result.state.upper()} in {result.wall_s:.1f} s"
    table = Table("task", "state", "try", "seconds", title=title)
    for row in result.tasks:
        style = STATE_STYLE.get(row.state, "")
        seconds = "" if row.duration_s is None else f"{row.duration_s:.2f}"
        table.add_row(row.label, f"[{style}]{row.state}[/]", str(row.try_number), seconds)
    console.print(table)
