"""Alerting: failure callbacks and deadline tracking, written to a log sink and a webhook.

Airflow 3 removed SLAs (``sla=``, ``sla_miss_callback``). This module gives the pipeline two
replacements:

- :func:`on_task_failure`, every task's ``on_failure_callback``: one JSON line per failed try
  that will not be retried (the DAG, run, task, try, the exception), appended to
  ``<home>/alerts.jsonl`` and POSTed to ``AIRFLOWML_ALERT_WEBHOOK`` when that is set.
- :func:`budget_callback`, a task's ``on_success_callback``: a ``deadline_miss`` alert when the
  task took longer than its time budget (the ``task_budget_s`` param). The run still succeeds:
  this is tracking, as an SLA was.
- :func:`dagrun_deadline_missed`, the callback of the DAG's Airflow 3.1+ ``DeadlineAlert``: the
  scheduler calls it when a run is still going at its deadline. It does not fire under
  ``dag.test()`` (no scheduler), which is why the per-task budget exists too.

A webhook that is down never fails a task: the alert is still in the log, and the error is
logged.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from airflowml.config import AirflowmlSettings

logger = logging.getLogger(__name__)


def emit(alert: dict[str, Any], settings: AirflowmlSettings | None = None) -> dict[str, Any]:
    """Append an alert to the log sink and send it to the webhook (best effort).

    Returns:
        The alert as written, with ``at`` (UTC) added.
    """
    settings = settings or AirflowmlSettings()
    record = {"at": datetime.now(UTC).isoformat(), **alert}
    settings.alert_log.parent.mkdir(parents=True, exist_ok=True)
    with settings.alert_log.open("a") as out:
        out.write(json.dumps(record, default=str) + "\n")
    if settings.alert_webhook:
        try:
            httpx.post(settings.alert_webhook, json=record, timeout=5.0).raise_for_status()
        except httpx.HTTPError as exc:
            logger.error("alert webhook %s failed: %s", settings.alert_webhook, exc)
    return record


def read_alerts(path: Path) -> list[dict[str, Any]]:
    """Every alert in a sink file (none when the file does not exist)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _where(context: Any) -> dict[str, Any]:
    ti = context["ti"]
    run = context.get("dag_run")
    return {
        "dag_id": ti.dag_id,
        "run_id": getattr(run, "run_id", None) or ti.run_id,
        "task_id": ti.task_id,
        "map_index": getattr(ti, "map_index", -1),
        "try_number": ti.try_number,
    }


def on_task_failure(context: Any) -> None:
    """``on_failure_callback``: the task failed for good (retries, if any, are spent)."""
    exception = context.get("exception")
    emit(
        {
            "kind": "task_failed",
            **_where(context),
            "error": f"{type(exception).__name__}: {exception}" if exception else "unknown",
        }
    )


def budget_callback(context: Any) -> None:
    """``on_success_callback``: alert when the task ran past ``params['task_budget_s']``."""
    budget = float(context["params"].get("task_budget_s", 0) or 0)
    ti = context["ti"]
    start = getattr(ti, "start_date", None)
    if budget <= 0 or start is None:
        return
    took = (datetime.now(UTC) - start).total_seconds()
    if took > budget:
        emit(
            {
                "kind": "deadline_miss",
                **_where(context),
                "took_s": round(took, 3),
                "budget_s": budget,
            }
        )
