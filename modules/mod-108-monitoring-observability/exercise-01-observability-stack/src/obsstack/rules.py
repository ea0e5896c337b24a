"""Recording and alerting rules, generated from one definition of the SLOs.

The availability SLO alerts in the *multiwindow, multi-burn-rate* style of the Google SRE
workbook (chapter "Alerting on SLOs"): an alert fires when the error budget burns ``factor``
times faster than the SLO allows over a long window AND over a short window (1/12 of it). The
long window makes the alert significant, the short one makes it reset soon after the errors
stop. With a 99.9 % objective:

=========  ==========  ======  =========  =============================================
long       short       factor  severity   meaning
=========  ==========  ======  =========  =============================================
1 h        5 m         14.4    page       2 % of a 30-day budget gone in one hour
6 h        30 m        6       page       5 % gone in six hours
3 d        6 h         1       ticket     10 % gone in three days
=========  ==========  ======  =========  =============================================

``build(scale=1)`` gives the production rules (``rules/obsstack-rules.yml``, unit-tested with
``promtool test rules``). ``build(scale=60)`` divides every window and ``for`` by 60 (1 h -> 1 m,
5 m -> 5 s) so the demo and the end-to-end test see the same alerts fire within seconds; it is
the same rule structure, just compressed time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsstack.errors import ObsstackError

#: Availability objective of the demo ML service (ratio of non-5xx responses).
OBJECTIVE = 0.999
#: Latency objective: this share of /predict requests finish under LATENCY_THRESHOLD seconds.
LATENCY_OBJECTIVE = 0.99
LATENCY_THRESHOLD = 0.25
#: Concurrency the service is sized for (saturation = in-flight / capacity).
CAPACITY = 32
REQUESTS = "obsstack_http_requests_total"
DURATION = "obsstack_http_request_duration_seconds"
ERRORS = f'{REQUESTS}{{route="/predict",status=~"5.."}}'


@dataclass(frozen=True)
class BurnWindow:
    """One multiwindow burn-rate alert: long and short window (seconds), factor, severity."""

    long: int
    short: int
    factor: float
    severity: str
    for_: int


WINDOWS = (
    BurnWindow(3600, 300, 14.4, "page", 120),
    BurnWindow(6 * 3600, 1800, 6.0, "page", 900),
    BurnWindow(3 * 86400, 6 * 3600, 1.0, "ticket", 3600),
)
#: The first this many alerts read the SLO recordings (the burn rates, budget, latency,
#: saturation); the rest read raw series.
SLO_ALERTS = len(WINDOWS) + 3
#: The budget period the remaining-budget ratio is measured over.
BUDGET_PERIOD = 30 * 86400


def duration(seconds: float) -> str:
    """A PromQL duration for ``seconds`` (``3600`` -> ``1h``, ``5`` -> ``5s``, ``90`` -> ``90s``).

    Raises:
        ObsstackError: Not a whole, positive number of seconds.
    """
    if seconds < 1 or seconds != int(seconds):
        raise ObsstackError(f"a rule window must be a whole number of seconds >= 1, not {seconds}")
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def _scaled(seconds: int, scale: int) -> str:
    return duration(seconds / scale)


def build(scale: int = 1) -> dict[str, Any]:
    """The rule groups as a dict (dump it as YAML for Prometheus).

    Args:
        scale: Time compression: every window and ``for`` divided by this (1 = production).

    Raises:
        ObsstackError: A scale that would give a window under one second.
    """
    if scale < 1 or scale > 360:
        raise ObsstackError(f"--scale must be between 1 and 360, not {scale}")
    windows = sorted({w for b in WINDOWS for w in (b.long, b.short)} | {BUDGET_PERIOD})
    err = 1 - OBJECTIVE
    recording: list[dict[str, Any]] = []
    for w in windows:
        d = _scaled(w, scale)
        recording.append(
            {
                "record": f"service:sli_errors:ratio_rate{d}",
                # "or ... * 0": a service without a single 5xx yet has ratio 0, not no data
                "expr": (
                    "(\n"
                    f"  sum by (service) (rate({ERRORS}[{d}]))\n"
                    f'  or sum by (service) (rate({REQUESTS}{{route="/predict"}}[{d}])) * 0\n'
                    ")\n"
                    f'/ sum by (service) (rate({REQUESTS}{{route="/predict"}}[{d}]))\n'
                ),
            }
        )
    budget = _scaled(BUDGET_PERIOD, scale)
    recording += [
        {
            "record": "service:error_budget_remaining:ratio",
            "expr": f"1 - service:sli_errors:ratio_rate{budget} / {err:g}",
        },
        {
            "record": "service:latency_p99:seconds",
            "expr": (
                "histogram_quantile(0.99, sum by (service, le) "
                f'(rate({DURATION}_bucket{{route="/predict"}}[{_scaled(300, scale)}])))'
            ),
        },
        {
            "record": "service:saturation:ratio",
            "expr": f"max by (service) (obsstack_inflight_requests) / {CAPACITY}",
        },
    ]
    alerts: list[dict[str, Any]] = []
    for b in WINDOWS:
        long_d, short_d = _scaled(b.long, scale), _scaled(b.short, scale)
        threshold = f"({b.factor:g} * {err:g})"
        alerts.append(
            {
                "alert": "ErrorBudgetBurn",
                "expr": (
                    f"service:sli_errors:ratio_rate{long_d} > {threshold}\n"
                    f"and\nservice:sli_errors:ratio_rate{short_d} > {threshold}\n"
                ),
                "for": _scaled(b.for_, scale),
                "labels": {
                    "severity": b.severity,
                    "team": "ml",
                    "slo": "availability",
                    "window": duration(b.long),
                },
                "annotations": {
                    "summary": (
                        f"{{{{ $labels.service }}}} burns its error budget {b.factor:g}x too "
                        f"fast ({duration(b.long)} and {duration(b.short)} windows)"
                    ),
                    "description": (
                        "{{ $value | humanizePercentage }} of /predict requests failed over the "
                        f"last {long_d}; the SLO allows {err:.1%}."
                    ),
                    "runbook_url": "https://example.org/runbooks/error-budget-burn",
                },
            }
        )
    alerts += [
        {
            "alert": "ErrorBudgetExhausted",
            "expr": "service:error_budget_remaining:ratio < 0",
            "for": _scaled(600, scale),
            "labels": {"severity": "ticket", "team": "ml", "slo": "availability"},
            "annotations": {"summary": "{{ $labels.service }} spent its whole error budget"},
        },
        {
            "alert": "HighLatencyP99",
            "expr": f"service:latency_p99:seconds > {LATENCY_THRESHOLD:g}",
            "for": _scaled(600, scale),
            "labels": {"severity": "ticket", "team": "ml", "slo": "latency"},
            "annotations": {
                "summary": (
                    "{{ $labels.service }} p99 latency is {{ $value | humanizeDuration }} "
                    f"(objective {LATENCY_THRESHOLD:g} s)"
                )
            },
        },
        {
            "alert": "ServiceSaturated",
            "expr": "service:saturation:ratio > 0.8",
            "for": _scaled(300, scale),
            "labels": {"severity": "ticket", "team": "ml"},
            "annotations": {
                "summary": "{{ $labels.service }} runs at {{ $value | humanizePercentage }} "
                "of its concurrency"
            },
        },
        {
            "alert": "TargetDown",
            "expr": "up == 0",
            "for": _scaled(120, scale),
            "labels": {"severity": "page", "team": "platform"},
            "annotations": {"summary": "{{ $labels.job }} at {{ $labels.instance }} is down"},
        },
        {
            "alert": "HostMemoryLow",
            "expr": "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.05",
            "for": _scaled(600, scale),
            "labels": {"severity": "ticket", "team": "platform"},
            "annotations": {"summary": "less than 5 % memory available on {{ $labels.instance }}"},
        },
        {
            "alert": "BatchJobStale",
            "expr": "time() - obsstack_batch_last_success_timestamp_seconds > "
            f"{int(86400 / scale) + int(3600 / scale)}",
            "labels": {"severity": "ticket", "team": "ml"},
            "annotations": {"summary": "batch job {{ $labels.job }} has not succeeded for a day"},
        },
    ]
    return {
        # Rules in one group run in order; groups run independently (in promtool's tests in a
        # random order). So the SLO alerts share the group of the recordings they read: in
        # separate groups an alert could read the previous evaluation's ratio.
        "groups": [
            {"name": "obsstack-slo", "rules": recording + alerts[:SLO_ALERTS]},
            {"name": "obsstack-platform", "rules": alerts[SLO_ALERTS:]},
        ]
    }


def render(scale: int = 1) -> str:
    """The rules as YAML text (what ``obsstack rules`` writes)."""
    header = (
        "# Generated by `obsstack rules` from obsstack/rules.py: edit that, not this file.\n"
        + (
            f"# Time compressed x{scale}: every window and `for` divided by {scale}.\n"
            if scale > 1
            else ""
        )
    )
    body: str = yaml.dump(build(scale), Dumper=_BlockDumper, sort_keys=False, width=100)
    return header + body


class _BlockDumper(yaml.SafeDumper):  # type: ignore[misc]
    """Writes multi-line strings (the PromQL) as ``|`` blocks, the way people write rules."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def write(path: Path | str, scale: int = 1) -> Path:
    """Write the rules file; returns its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(scale))
    return target


def alert_rules(scale: int = 1) -> list[dict[str, Any]]:
    """Every alerting rule, in order."""
    return [r for g in build(scale)["groups"] for r in g["rules"] if "alert" in r]


def alert_names(scale: int = 1) -> set[str]:
    """The names of the alerts the rules define."""
    return {r["alert"] for r in alert_rules(scale)}
