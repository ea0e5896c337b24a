"""A health scorecard read from the real Prometheus HTTP API.

Each :class:`Check` is one PromQL expression and two thresholds. The scorecard evaluates them
all, grades each GREEN / AMBER / RED (or NO DATA when the series does not exist yet), and lists
the alerts Prometheus has pending or firing. ``window`` sets the rate window of the checks
(5m in production; the demo uses a shorter one so a one-minute run shows the change).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.table import Table

from aiinfra_shared.services import prometheus as prom

Status = Literal["GREEN", "AMBER", "RED", "NO DATA"]
COLOURS = {"GREEN": "green", "AMBER": "yellow", "RED": "bold red", "NO DATA": "dim"}


@dataclass(frozen=True)
class Check:
    """One scorecard line: higher values are worse unless ``lower_is_worse``."""

    name: str
    expr: str
    amber: float
    red: float
    fmt: str = "{:.3f}"
    lower_is_worse: bool = False

    def grade(self, value: float | None) -> Status:
        """The status of ``value``."""
        if value is None:
            return "NO DATA"
        if self.lower_is_worse:
            return "RED" if value <= self.red else "AMBER" if value <= self.amber else "GREEN"
        return "RED" if value >= self.red else "AMBER" if value >= self.amber else "GREEN"


def checks(window: str = "5m", slo_seconds: float = 0.25) -> list[Check]:
    """The default checks, with rate windows of ``window``."""
    w = window
    return [
        # Answered a scrape in the last 30 s: one slow scrape is not an outage (the
        # ModelmonDown alert waits a minute for the same reason).
        Check(
            "service up",
            'min(max_over_time(up{job="modelmon"}[30s]))',
            0.99,
            0.5,
            "{:.2f}",
            lower_is_worse=True,
        ),
        Check(
            "p95 latency (s)",
            "histogram_quantile(0.95, sum by (le) "
            f"(rate(modelmon_prediction_latency_seconds_bucket[{w}])))",
            slo_seconds * 0.8,
            slo_seconds,
        ),
        Check(
            f"share slower than {slo_seconds * 1000:.0f} ms",
            f'1 - sum(rate(modelmon_prediction_latency_seconds_bucket{{le="{slo_seconds}"}}[{w}])) '
            f"/ sum(rate(modelmon_prediction_latency_seconds_count[{w}]))",
            0.01,
            0.144,
            "{:.1%}",
        ),
        Check(
            "error ratio",
            f"sum(rate(modelmon_prediction_errors_total[{w}])) "
            f"/ (sum(rate(modelmon_prediction_errors_total[{w}])) "
            f"+ sum(rate(modelmon_predictions_total[{w}])))",
            0.01,
            0.05,
            "{:.1%}",
        ),
        Check(
            "accuracy drop vs training",
            "max(modelmon_model_reference_accuracy) - min(modelmon_online_accuracy)",
            0.05,
            0.10,
            "{:+.1%}",
        ),
        Check(
            "positive-rate shift",
            "max(abs(modelmon_online_positive_rate - on (job, instance) group_left () "
            "modelmon_model_reference_positive_rate))",
            0.08,
            0.15,
            "{:.1%}",
        ),
        Check(
            "inputs out of training range",
            "max(modelmon_feature_out_of_range_ratio)",
            0.01,
            0.05,
            "{:.1%}",
        ),
    ]


@dataclass(frozen=True)
class Line:
    """A graded check."""

    check: Check
    value: float | None
    status: Status


@dataclass(frozen=True)
class Scorecard:
    """All lines plus Prometheus' active alerts."""

    lines: list[Line]
    alerts: list[dict[str, Any]]

    @property
    def status(self) -> Status:
        """The worst line's status (NO DATA counts as AMBER)."""
        order = {"GREEN": 0, "NO DATA": 1, "AMBER": 1, "RED": 2}
        worst = max((order[line.status] for line in self.lines), default=0)
        return "RED" if worst == 2 else "AMBER" if worst == 1 else "GREEN"

    def line(self, name: str) -> Line:
        """The line of the check called ``name``."""
        return next(line for line in self.lines if line.check.name == name)

    def firing(self) -> list[str]:
        """Names of the alerts that are firing."""
        return sorted({a["labels"]["alertname"] for a in self.alerts if a["state"] == "firing"})


def evaluate(url: str, items: Sequence[Check] | None = None) -> Scorecard:
    """Query Prometheus at ``url`` for every check and its alerts."""
    lines = []
    for check in items or checks():
        samples = prom.query(url, check.expr)
        values = [s.value for s in samples if s.value == s.value]  # NaN (0/0) is no data
        value = values[0] if values else None
        lines.append(Line(check, value, check.grade(value)))
    return Scorecard(lines, prom.alerts(url))


def render(card: Scorecard, title: str = "modelmon scorecard") -> Table:
    """The scorecard as a Rich table, alerts in its caption."""
    colour = COLOURS[card.status]
    table = Table(title=f"{title}: [{colour}]{card.status}[/]", title_justify="left")
    for name in ("check", "value", "amber at", "red at", "status"):
        table.add_column(name, justify="right" if name != "check" else "left")
    for line in card.lines:
        c = line.check
        value = "–" if line.value is None else c.fmt.format(line.value)
        table.add_row(
            c.name,
            value,
            c.fmt.format(c.amber),
            c.fmt.format(c.red),
            f"[{COLOURS[line.status]}]{line.status}[/]",
        )
    if card.alerts:
        table.caption = "alerts: " + ", ".join(
            f"{a['labels']['alertname']} ({a['state']})"
            for a in sorted(card.alerts, key=lambda a: (a["state"], a["labels"]["alertname"]))
        )
        table.caption_justify = "left"
    return table
