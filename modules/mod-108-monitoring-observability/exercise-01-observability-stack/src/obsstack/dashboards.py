"""Dashboards as code: Grafana JSON from grafanalib, and PNG renders of the same panels.

Grafana cannot run on this machine, so :func:`render_png` draws each panel's queries from
Prometheus' ``query_range`` API with matplotlib: the picture a person would look at, made from
the same PromQL the Grafana JSON holds. :func:`validate` checks the JSON the way Grafana's
import would trip: unique panel ids, panels inside the 24-column grid without overlaps, and
every query parsed by Prometheus itself.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafanalib._gen import DashboardEncoder
from grafanalib.core import (
    Dashboard,
    GridPos,
    Stat,
    Target,
    Template,
    Templating,
    TimeSeries,
)

from obsstack.errors import ObsstackError
from obsstack.rules import LATENCY_THRESHOLD, OBJECTIVE

DATASOURCE = "${datasource}"
DURATION_BUCKET = 'obsstack_http_request_duration_seconds_bucket{route="/predict"}'


@dataclass(frozen=True)
class PanelSpec:
    """One panel: title, unit, kind and its (legend, PromQL) queries."""

    title: str
    unit: str
    queries: tuple[tuple[str, str], ...]
    kind: str = "timeseries"
    width: int = 12
    height: int = 8


PANELS: tuple[PanelSpec, ...] = (
    PanelSpec(
        "Error budget remaining",
        "percentunit",
        (("{{service}}", "service:error_budget_remaining:ratio"),),
        kind="stat",
        width=6,
        height=5,
    ),
    PanelSpec(
        "p99 latency (/predict)",
        "s",
        (("{{service}}", "service:latency_p99:seconds"),),
        kind="stat",
        width=6,
        height=5,
    ),
    PanelSpec(
        "Saturation (in-flight / capacity)",
        "percentunit",
        (("{{service}}", "service:saturation:ratio"),),
        kind="stat",
        width=6,
        height=5,
    ),
    PanelSpec(
        "Firing alerts",
        "short",
        (("{{alertname}}", 'count by (alertname) (ALERTS{alertstate="firing"})'),),
        kind="stat",
        width=6,
        height=5,
    ),
    PanelSpec(
        "Requests per second by status (RED: rate)",
        "reqps",
        (
            (
                "{{status}}",
                'sum by (status) (rate(obsstack_http_requests_total{route="/predict"}[30s]))',
            ),
        ),
    ),
    PanelSpec(
        "Error ratio (RED: errors) against the SLO",
        "percentunit",
        (
            (
                "errors",
                'sum(rate(obsstack_http_requests_total{route="/predict",status=~"5.."}[30s]))'
                ' / sum(rate(obsstack_http_requests_total{route="/predict"}[30s]))',
            ),
            ("SLO budget (14.4x burn)", f"vector({14.4 * (1 - OBJECTIVE):g})"),
        ),
    ),
    PanelSpec(
        "Latency quantiles (RED: duration)",
        "s",
        (
            *(
                (
                    f"p{int(q * 100)}",
                    f"histogram_quantile({q}, sum by (le) (rate({DURATION_BUCKET}[30s])))",
                )
                for q in (0.5, 0.9, 0.99)
            ),
            ("objective", f"vector({LATENCY_THRESHOLD:g})"),
        ),
    ),
    PanelSpec(
        "Predictions per second by class (model)",
        "reqps",
        (("class {{label}}", "sum by (label) (rate(obsstack_model_predictions_total[30s]))"),),
    ),
    PanelSpec(
        "Inputs outside the training range (data quality)",
        "short",
        (
            (
                "feature {{feature}}",
                "sum by (feature) (increase(obsstack_model_input_out_of_range_total[1m]))",
            ),
        ),
    ),
    PanelSpec(
        "Host CPU busy (node exporter)",
        "percentunit",
        (("cpu", '1 - avg(rate(node_cpu_seconds_total{mode="idle"}[30s]))'),),
    ),
)


def build() -> Dashboard:
    """The grafanalib dashboard of the stack."""
    panels: list[Any] = []
    x = y = row_height = 0
    for i, spec in enumerate(PANELS, start=1):
        if x + spec.width > 24:
            x, y, row_height = 0, y + row_height, 0
        pos = GridPos(h=spec.height, w=spec.width, x=x, y=y)
        targets = [
            Target(expr=expr, legendFormat=legend, refId=chr(ord("A") + j), datasource=DATASOURCE)
            for j, (legend, expr) in enumerate(spec.queries)
        ]
        common = {
            "title": spec.title,
            "dataSource": DATASOURCE,
            "targets": targets,
            "gridPos": pos,
            "id": i,
        }
        if spec.kind == "stat":
            panels.append(Stat(format=spec.unit, reduceCalc="lastNotNull", **common))
        else:
            panels.append(TimeSeries(unit=spec.unit, **common))
        x += spec.width
        row_height = max(row_height, spec.height)
    return Dashboard(
        title="obsstack: ML service overview",
        uid="obsstack-overview",
        description="RED, SLO and model metrics of the demo ML service (generated by obsstack).",
        tags=["obsstack", "slo", "ml"],
        timezone="browser",
        refresh="10s",
        panels=panels,
        templating=Templating(
            list=[
                Template(
                    name="datasource",
                    query="prometheus",
                    type="datasource",
                    label="Data source",
                    default="Prometheus",
                )
            ]
        ),
    ).auto_panel_ids()


def to_json(dashboard: Dashboard | None = None) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model."""
    text = json.dumps((dashboard or build()).to_json_data(), cls=DashboardEncoder)
    data: dict[str, Any] = json.loads(text)
    return data


def queries(data: dict[str, Any]) -> list[str]:
    """Every PromQL expression in a dashboard's JSON."""
    return [
        t["expr"] for p in data.get("panels", []) for t in p.get("targets", []) if t.get("expr")
    ]


def validate(data: dict[str, Any], prometheus_url: str | None = None) -> list[str]:
    """Problems Grafana would show on import (empty list: none).

    Args:
        data: Dashboard JSON.
        prometheus_url: A Prometheus to parse every query with (skipped when None).
    """
    problems: list[str] = []
    panels = data.get("panels", [])
    if not panels:
        problems.append("the dashboard has no panels")
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)):
        problems.append(f"duplicate panel ids: {ids}")
    cells: dict[tuple[int, int], str] = {}
    for p in panels:
        pos = p.get("gridPos") or {}
        title = p.get("title", "?")
        if not p.get("targets"):
            problems.append(f"panel {title!r} has no queries")
        if pos.get("x", 0) + pos.get("w", 0) > 24 or min(pos.get("x", 0), pos.get("y", 0)) < 0:
            problems.append(f"panel {title!r} lies outside the 24-column grid: {pos}")
        for dx in range(pos.get("w", 0)):
            for dy in range(pos.get("h", 0)):
                cell = (pos["x"] + dx, pos["y"] + dy)
                if cell in cells and cells[cell] != title:
                    problems.append(f"panels {cells[cell]!r} and {title!r} overlap")
                    break
                cells[cell] = title
            else:
                continue
            break
    if prometheus_url:
        from aiinfra_shared.services.base import ServiceError
        from aiinfra_shared.services.prometheus import query

        for expr in queries(data):
            try:
                query(prometheus_url, expr)
            except ServiceError as exc:
                problems.append(f"query {expr!r}: {exc}")
    return problems


def write_json(path: Path | str) -> Path:
    """Write the Grafana JSON (importable as is); returns its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(to_json(), indent=2) + "\n")
    return target


def render_png(
    prometheus_url: str, out: Path | str, *, minutes: float = 5.0, end: float | None = None
) -> Path:
    """Draw every panel from Prometheus' ``query_range`` into one PNG.

    Args:
        prometheus_url: The Prometheus to query.
        out: PNG path.
        minutes: How far back the panels look.
        end: End of the range (Unix seconds; now by default).

    Raises:
        ObsstackError: ``minutes`` not positive or Prometheus unreachable.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from aiinfra_shared.services.base import ServiceError
    from aiinfra_shared.services.prometheus import query_range

    if not (minutes > 0 and math.isfinite(minutes)) or minutes > 24 * 60:
        raise ObsstackError(f"--minutes must be in (0, 1440], not {minutes}")
    stop = end or time.time()
    start = stop - minutes * 60
    step = max(1.0, minutes * 60 / 300)
    cols = 2
    rows = math.ceil(len(PANELS) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(14, 3.2 * rows), squeeze=False)
    for ax, spec in zip(axes.flat, PANELS, strict=False):
        ax.set_title(spec.title, fontsize=10)
        drawn = 0
        for legend, expr in spec.queries:
            try:
                series = query_range(prometheus_url, expr, start=start, end=stop, step=step)
            except ServiceError as exc:
                raise ObsstackError(str(exc)) from None
            for labels, points in series:
                xs = [t - stop for t, _ in points]
                ys = [v for _, v in points]
                name = legend
                for key, value in labels.items():
                    name = name.replace("{{" + key + "}}", value)
                ax.plot(xs, ys, label=name, linestyle="--" if expr.startswith("vector(") else "-")
                drawn += 1
        if drawn:
            ax.legend(fontsize=7, loc="upper left")
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("seconds before now", fontsize=8)
        ax.set_ylabel(spec.unit, fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(PANELS) :]:
        ax.axis("off")
    fig.suptitle("obsstack: ML service overview (rendered from Prometheus query_range)")
    fig.tight_layout()
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=80)
    plt.close(fig)
    return target
