"""Incident analytics: MTTA, MTTR, MTBF, alert noise, on-call load; a report with plots.

- **MTTA**: mean time from an incident opening to its acknowledgement.
- **MTTR**: mean time from opening to resolution (resolved incidents only).
- **MTBF**: mean time between the starts of consecutive incidents of the same service.
- **Noise**: alert notifications received per incident (what deduplication and grouping
  saved a human from reading), and alerts per incident.
- **On-call load**: notifications per person, and how many fell outside 08:00-20:00 UTC.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from incidents.db import Database


def _seconds(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def compute(db: Database) -> dict[str, Any]:
    """Every figure, as a dict (seconds for durations; None where there is no data)."""
    incidents = db.rows("SELECT * FROM incidents ORDER BY created_at")
    tta = [
        s for i in incidents if (s := _seconds(i["created_at"], i["acknowledged_at"])) is not None
    ]
    ttr = [s for i in incidents if (s := _seconds(i["created_at"], i["resolved_at"])) is not None]
    by_service: dict[str, list[str]] = defaultdict(list)
    for i in incidents:
        by_service[i["service"]].append(i["created_at"])
    gaps = [
        s
        for starts in by_service.values()
        for a, b in pairwise(starts)
        if (s := _seconds(a, b)) is not None
    ]
    received = db.rows("SELECT coalesce(sum(alerts), 0) AS n FROM webhook_log")[0]["n"]
    alerts = db.rows("SELECT count(*) AS n, coalesce(sum(repeats), 0) AS r FROM alerts")[0]
    notes = db.rows("SELECT user, sent_at FROM notifications WHERE status='sent'")
    load = Counter(n["user"] for n in notes)
    off_hours = Counter(
        n["user"] for n in notes if not 8 <= datetime.fromisoformat(n["sent_at"]).hour < 20
    )
    count = len(incidents)
    return {
        "incidents": count,
        "open": sum(i["state"] != "resolved" for i in incidents),
        "mtta_seconds": _mean(tta),
        "mttr_seconds": _mean(ttr),
        "mtbf_seconds": _mean(gaps),
        "alert_notifications_received": received,
        "distinct_alerts": alerts["n"],
        "alerts_per_incident": alerts["n"] / count if count else None,
        "notifications_per_incident": received / count if count else None,
        "noise_reduction": 1 - count / received if received else None,
        "by_severity": dict(Counter(f"SEV{i['severity']}" for i in incidents)),
        "by_service": {k: len(v) for k, v in sorted(by_service.items())},
        "oncall_load": dict(load.most_common()),
        "oncall_off_hours": dict(off_hours.most_common()),
        "ttr_seconds": ttr,
        "tta_seconds": tta,
    }


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def markdown(figures: dict[str, Any]) -> str:
    """The figures as a Markdown report."""
    ratio = figures["noise_reduction"]
    lines = [
        "# Incident report",
        "",
        "| measure | value |",
        "|---|---|",
        f"| incidents (open) | {figures['incidents']} ({figures['open']}) |",
        f"| MTTA | {_fmt(figures['mtta_seconds'])} |",
        f"| MTTR | {_fmt(figures['mttr_seconds'])} |",
        f"| MTBF (same service) | {_fmt(figures['mtbf_seconds'])} |",
        f"| alert notifications received | {figures['alert_notifications_received']} |",
        f"| distinct alerts | {figures['distinct_alerts']} |",
        f"| notifications per incident | {figures['notifications_per_incident'] or 0:.1f} |",
        f"| noise reduction (1 - incidents/notifications) | {ratio:.1%} |"
        if ratio is not None
        else "| noise reduction | - |",
        "",
        "## On-call load (notifications sent)",
        "",
        "| person | notifications | outside 08-20 UTC |",
        "|---|---|---|",
    ]
    for person, n in figures["oncall_load"].items():
        lines.append(f"| {person} | {n} | {figures['oncall_off_hours'].get(person, 0)} |")
    lines += ["", "## Incidents by service", "", "| service | incidents |", "|---|---|"]
    lines += [f"| {s} | {n} |" for s, n in figures["by_service"].items()]
    return "\n".join(lines) + "\n"


def plot(figures: dict[str, Any], out: Path | str) -> Path:
    """Three panels: time to resolve, incidents per service, on-call load; a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    ttr = [s / 60 for s in figures["ttr_seconds"]]
    axes[0].hist(ttr or [0], bins=min(20, max(1, len(ttr))), color="tab:blue")
    axes[0].set_title(f"time to resolve (MTTR {_fmt(figures['mttr_seconds'])})")
    axes[0].set_xlabel("minutes")
    services = figures["by_service"]
    axes[1].bar(list(services) or ["-"], list(services.values()) or [0], color="tab:orange")
    axes[1].set_title("incidents per service")
    axes[1].tick_params(axis="x", rotation=30)
    people = figures["oncall_load"]
    axes[2].bar(list(people) or ["-"], list(people.values()) or [0], color="tab:green", label="all")
    axes[2].bar(
        list(people) or ["-"],
        [figures["oncall_off_hours"].get(p, 0) for p in people] or [0],
        color="tab:red",
        label="outside 08-20 UTC",
    )
    axes[2].set_title("on-call load (notifications)")
    axes[2].legend()
    fig.tight_layout()
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=80)
    plt.close(fig)
    return target
