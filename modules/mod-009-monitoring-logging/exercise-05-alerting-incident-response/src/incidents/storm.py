"""Replay an alert storm: thousands of Alertmanager notifications, as a flapping system sends them.

A storm here is ``services`` services, each with ``alerts_per_service`` distinct alerts
(instances of a few alert names); Alertmanager re-sends each firing alert in every group
notification, so every distinct alert arrives ``repeats`` times, and some resolve at the end.
What the service should do with it: keep every distinct alert once (deduplication), fold them
into few incidents (grouping and correlation), and keep up.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

NAMES = (
    "InferenceLatencyHigh",
    "ModelAccuracyLow",
    "PodCrashLooping",
    "GPUMemoryHigh",
    "FeaturePipelineStale",
)


def storm(
    *,
    services: int = 10,
    alerts_per_service: int = 20,
    repeats: int = 10,
    batch: int = 50,
    resolve_share: float = 0.5,
    seed: int = 0,
) -> Iterator[dict[str, Any]]:
    """Webhook payloads of a storm, in the order they would arrive."""
    rng = random.Random(seed)  # noqa: S311 (synthetic data)
    start = datetime.now(UTC).isoformat()
    alerts = [
        {
            "status": "firing",
            "labels": {
                "alertname": rng.choice(NAMES),
                "service": f"svc-{s:02d}",
                "instance": f"10.0.{s}.{i}:9100",
                "severity": rng.choice(["page", "warning"]),
                "team": "ml",
            },
            "annotations": {"summary": f"storm alert {s}-{i}"},
            "startsAt": start,
        }
        for s in range(services)
        for i in range(alerts_per_service)
    ]
    sends = [a for a in alerts for _ in range(repeats)]
    rng.shuffle(sends)
    ending = rng.sample(alerts, int(len(alerts) * resolve_share))
    sends += [{**a, "status": "resolved", "endsAt": datetime.now(UTC).isoformat()} for a in ending]
    for i in range(0, len(sends), batch):
        chunk = sends[i : i + batch]
        yield {
            "version": "4",
            "groupKey": f"storm-{i}",
            "status": "firing",
            "receiver": "incidents",
            "alerts": chunk,
        }


@dataclass
class StormResult:
    """What a replay measured."""

    notifications: int
    seconds: float
    distinct_alerts: int
    duplicates: int
    incidents: int

    @property
    def per_second(self) -> float:
        """Alert notifications ingested per second."""
        return self.notifications / self.seconds if self.seconds else 0.0

    def rows(self) -> list[tuple[str, str]]:
        """Markdown table rows."""
        return [
            ("alert notifications sent", f"{self.notifications:,}"),
            ("ingest rate", f"{self.per_second:,.0f} alerts/s ({self.seconds:.2f} s)"),
            ("distinct alerts kept", f"{self.distinct_alerts:,}"),
            (
                "duplicates folded (dedup)",
                f"{self.duplicates:,} ({self.duplicates / self.notifications:.1%})",
            ),
            ("incidents opened", f"{self.incidents}"),
            ("notifications per incident", f"{self.notifications / max(1, self.incidents):,.0f}"),
        ]


def replay(
    post: Callable[[dict[str, Any]], dict[str, Any]], payloads: Iterator[dict[str, Any]]
) -> StormResult:
    """Send every payload through ``post`` (which returns the ingest result) and measure."""
    sent = dup = 0
    distinct: set[int] = set()
    incidents: set[int] = set()
    started = time.perf_counter()
    new = 0
    for payload in payloads:
        result = post(payload)
        sent += len(payload["alerts"])
        dup += result["duplicates"]
        new += result["new_alerts"]
        incidents.update(result["incidents"])
    seconds = time.perf_counter() - started
    distinct.update(range(new))
    return StormResult(sent, seconds, new, dup, len(incidents))
