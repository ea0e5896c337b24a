"""A Grafana dashboard built from code, not hand-edited JSON.

:class:`Dashboard` lays panels out on Grafana's 24-column grid, numbers them, and points every
query at a ``datasource`` template variable, so the JSON imports into any Grafana with a
Prometheus data source. ``modelmon dashboard --out modelmon.json`` writes it; the tests check
that every query names only metrics the service exports or the rules record.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from modelmon.model import FEATURES

GRID_WIDTH = 24
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel and its legend."""

    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    """A panel: what it shows and how much room it takes.

    Attributes:
        title: Panel title.
        queries: Its PromQL queries.
        kind: Grafana panel type.
        unit: Grafana unit id (``s``, ``percentunit``, ``short``, ``reqps``).
        width: Columns out of 24.
        height: Grid rows.
        thresholds: (value, colour) steps above the green base, for stat panels.
        description: Hover text: what a person should read from it.
    """

    title: str
    queries: tuple[Query, ...]
    kind: Literal["timeseries", "stat"] = "timeseries"
    unit: str = "short"
    width: int = 12
    height: int = 8
    thresholds: tuple[tuple[float, str], ...] = ()
    description: str = ""


@dataclass
class Dashboard:
    """Rows of panels, laid out left to right, top to bottom."""

    title: str
    uid: str
    tags: tuple[str, ...] = ()
    refresh: str = "10s"
    _panels: list[dict[str, Any]] = field(default_factory=list)
    _x: int = 0
    _y: int = 0
    _row_height: int = 0

    def row(self, title: str) -> Dashboard:
        """Start a new (collapsible) row."""
        self._newline()
        self._panels.append(
            {
                "id": len(self._panels) + 1,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": self._y, "w": GRID_WIDTH, "h": 1},
                "panels": [],
            }
        )
        self._y += 1
        return self

    def add(self, panel: Panel) -> Dashboard:
        """Place ``panel`` after the previous one, wrapping at 24 columns."""
        if not 1 <= panel.width <= GRID_WIDTH:
            raise ValueError(f"panel width must be 1..{GRID_WIDTH}, got {panel.width}")
        if not panel.queries:
            raise ValueError(f"panel {panel.title!r} has no query")
        if self._x + panel.width > GRID_WIDTH:
            self._newline()
        steps = [{"color": "green", "value": None}] + [
            {"color": colour, "value": value} for value, colour in panel.thresholds
        ]
        self._panels.append(
            {
                "id": len(self._panels) + 1,
                "type": panel.kind,
                "title": panel.title,
                "description": panel.description,
                "datasource": DATASOURCE,
                "gridPos": {"x": self._x, "y": self._y, "w": panel.width, "h": panel.height},
                "targets": [
                    {
                        "refId": chr(ord("A") + i),
                        "datasource": DATASOURCE,
                        "expr": q.expr,
                        "legendFormat": q.legend,
                    }
                    for i, q in enumerate(panel.queries)
                ],
                "fieldConfig": {
                    "defaults": {
                        "unit": panel.unit,
                        "thresholds": {"mode": "absolute", "steps": steps},
                    },
                    "overrides": [],
                },
                "options": {},
            }
        )
        self._x += panel.width
        self._row_height = max(self._row_height, panel.height)
        return self

    def _newline(self) -> None:
        self._y += self._row_height
        self._x, self._row_height = 0, 0

    def to_json(self) -> dict[str, Any]:
        """The dashboard model Grafana imports."""
        return {
            "title": self.title,
            "uid": self.uid,
            "tags": list(self.tags),
            "schemaVersion": 39,
            "version": 1,
            "editable": True,
            "refresh": self.refresh,
            "time": {"from": "now-1h", "to": "now"},
            "timezone": "browser",
            "templating": {
                "list": [
                    {
                        "name": "datasource",
                        "label": "Prometheus",
                        "type": "datasource",
                        "query": "prometheus",
                        "current": {},
                        "hide": 0,
                    }
                ]
            },
            "annotations": {"list": []},
            "panels": self._panels,
        }


def build(slo_seconds: float = 0.25) -> Dashboard:
    """The modelmon dashboard: service health, model quality, inputs."""
    d = Dashboard("modelmon: fraud model in production", "modelmon-overview", ("ml", "modelmon"))
    d.row("Service")
    d.add(
        Panel(
            "Prediction rate",
            (
                Query(
                    "sum by (predicted_class) (rate(modelmon_predictions_total[1m]))",
                    "class {{predicted_class}}",
                ),
            ),
            unit="reqps",
            width=8,
        )
    )
    d.add(
        Panel(
            "Prediction latency",
            (
                Query("modelmon:prediction_latency_seconds:p95_rate5m", "p95 (5m)"),
                Query(
                    "histogram_quantile(0.5, sum by (le) "
                    "(rate(modelmon_prediction_latency_seconds_bucket[1m])))",
                    "p50 (1m)",
                ),
                Query(f"vector({slo_seconds})", "objective"),
            ),
            unit="s",
            width=8,
            description="The objective: 99 % of predictions under 250 ms.",
        )
    )
    d.add(
        Panel(
            "Errors by type",
            (Query("sum by (type) (rate(modelmon_prediction_errors_total[1m]))", "{{type}}"),),
            unit="reqps",
            width=8,
        )
    )
    d.add(
        Panel(
            "Latency budget: bad share (5m / 1h)",
            (
                Query("modelmon:latency_slo_bad:ratio_rate5m", "5m"),
                Query("modelmon:latency_slo_bad:ratio_rate1h", "1h"),
            ),
            kind="stat",
            unit="percentunit",
            width=8,
            thresholds=((0.01, "orange"), (0.144, "red")),
        )
    )
    d.add(
        Panel(
            "Error ratio (5m)",
            (Query("modelmon:prediction_errors:ratio_rate5m", "errors"),),
            kind="stat",
            unit="percentunit",
            width=8,
            thresholds=((0.01, "orange"), (0.05, "red")),
        )
    )
    d.add(
        Panel(
            "Model version",
            (Query("modelmon_model_info", "{{version}}"),),
            kind="stat",
            width=8,
        )
    )
    d.row("Model quality")
    d.add(
        Panel(
            "Online accuracy vs training",
            (
                Query("modelmon_online_accuracy", "online ({{model_version}})"),
                Query("modelmon_model_reference_accuracy", "training"),
            ),
            unit="percentunit",
            description="Online accuracy comes from delayed labels (POST /feedback).",
        )
    )
    d.add(
        Panel(
            "Positive-prediction rate vs training",
            (
                Query("modelmon_online_positive_rate", "online"),
                Query("modelmon_model_reference_positive_rate", "training"),
                Query("modelmon:predictions_positive:ratio_rate5m", "rate (5m)"),
            ),
            unit="percentunit",
        )
    )
    d.add(
        Panel(
            "Score distribution",
            (
                Query(
                    "sum by (le) (rate(modelmon_prediction_score_bucket[5m]))",
                    "≤ {{le}}",
                ),
            ),
            width=8,
        )
    )
    d.add(
        Panel(
            "Labels: received and pending",
            (
                Query("sum by (outcome) (rate(modelmon_feedback_total[5m]))", "{{outcome}}"),
                Query("modelmon_pending_predictions", "pending"),
                Query("modelmon_online_labelled_predictions", "labelled in window"),
            ),
            width=8,
        )
    )
    d.add(
        Panel(
            "Label delay p90",
            (
                Query(
                    "histogram_quantile(0.9, sum by (le) "
                    "(rate(modelmon_feedback_delay_seconds_bucket[30m])))",
                    "p90",
                ),
            ),
            unit="s",
            width=8,
        )
    )
    d.row("Inputs")
    d.add(
        Panel(
            "Feature means",
            tuple(Query(f'modelmon_feature_mean{{feature="{f}"}}', f) for f in FEATURES),
        )
    )
    d.add(
        Panel(
            "Out of training range",
            (Query("modelmon_feature_out_of_range_ratio", "{{feature}}"),),
            unit="percentunit",
            thresholds=((0.05, "red"),),
        )
    )
    d.add(
        Panel(
            "Feature standard deviations",
            (Query("modelmon_feature_stddev", "{{feature}}"),),
            width=12,
        )
    )
    d.add(
        Panel(
            "Distribution shift (PSI vs training)",
            (Query("modelmon_feature_psi", "{{feature}}"),),
            thresholds=((0.1, "yellow"), (0.25, "red")),
            width=12,
        )
    )
    d.add(
        Panel(
            "HTTP requests by route and status",
            (
                Query(
                    "sum by (route, status) (rate(modelmon_http_requests_total[1m]))",
                    "{{route}} {{status}}",
                ),
            ),
            unit="reqps",
            width=12,
        )
    )
    return d


_SELECTOR = re.compile(r"\{[^}]*\}")
_NAME = re.compile(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")
_HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
_PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "bool", "offset"}


def referenced_metrics(expr: str) -> set[str]:
    """Metric names a PromQL expression reads (histogram series folded to their family)."""
    bare = _SELECTOR.sub("", expr)
    bare = re.sub(r"\[[^\]]*\]", "", bare)  # range selectors
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", bare)
    names = set()
    for name in _NAME.findall(bare):
        if name in _PROMQL_WORDS or name.replace(".", "").isdigit():
            continue
        for suffix in _HISTOGRAM_SUFFIXES:
            if name.endswith(suffix):
                name = name.removesuffix(suffix)
        names.add(name)
    return names


def write(path: Path | str) -> Path:
    """Write the dashboard JSON to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build().to_json(), indent=2) + "\n")
    return path
