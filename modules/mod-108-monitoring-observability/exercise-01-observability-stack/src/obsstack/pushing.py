"""Batch jobs report to the Pushgateway: they end before Prometheus could scrape them."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

from obsstack.errors import ObsstackError


def push_batch_job(
    gateway_url: str, job: str, *, rows: int, seconds: float, success: bool = True
) -> None:
    """Push one run of a batch job: rows processed, duration and (if it succeeded) when.

    POST (pushadd), not PUT: a failed run replaces rows and duration but keeps the last
    success time a previous run pushed.

    ``BatchJobStale`` fires when the last success is over a day old.

    Raises:
        ObsstackError: The Pushgateway refused or is unreachable.
    """
    registry = CollectorRegistry()
    Gauge("obsstack_batch_rows_processed", "Rows the last run processed.", registry=registry).set(
        rows
    )
    Gauge("obsstack_batch_duration_seconds", "How long the last run took.", registry=registry).set(
        seconds
    )
    if success:
        Gauge(
            "obsstack_batch_last_success_timestamp_seconds",
            "When the job last succeeded (Unix time).",
            registry=registry,
        ).set(time.time())
    try:
        pushadd_to_gateway(gateway_url.split("://", 1)[-1], job=job, registry=registry, timeout=10)
    except OSError as exc:
        raise ObsstackError(f"the Pushgateway at {gateway_url} refused the push: {exc}") from None
