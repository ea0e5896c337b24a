"""The HTML dashboard (Plotly, one file that opens offline) and the digest text."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from costlens import analyze
from costlens.errors import CostlensError
from costlens.recommend import Params, Recommendation, recommend
from costlens.store import Store


@dataclass
class Summary:
    """Everything the dashboard and the digest show, computed once."""

    start: str
    end: str
    currency: str
    total: float
    by_provider: pd.DataFrame
    by_service: pd.DataFrame
    by_team: pd.DataFrame
    daily: pd.DataFrame
    anomalies: pd.DataFrame
    forecast: analyze.Forecast | None
    coverage: pd.DataFrame
    units: dict[str, pd.DataFrame]
    recommendations: list[Recommendation] = field(default_factory=list)

    @property
    def saving(self) -> float:
        return round(sum(r.monthly_saving for r in self.recommendations), 2)


def summarize(store: Store, *, as_of: date | None = None, params: Params | None = None) -> Summary:
    """Compute the summary of everything in the store."""
    first, last = store.period()
    daily = store.df(
        "SELECT CAST(ChargePeriodStart AS DATE) AS day, ProviderName AS provider, "
        "round(sum(EffectiveCost), 2) AS cost FROM focus GROUP BY ALL ORDER BY day"
    )
    try:
        forecast = analyze.forecast_month(store, as_of)
    except CostlensError:
        forecast = None  # too little history: the dashboard says so
    return Summary(
        start=first.date().isoformat(),
        end=last.date().isoformat(),
        currency=store.currency("USD"),
        total=round(float(store.scalar("SELECT sum(EffectiveCost) FROM focus")), 2),
        by_provider=analyze.spend(store, ["provider"]),
        by_service=analyze.spend(store, ["provider", "service"], top=12),
        by_team=analyze.spend(store, ["team"]),
        daily=daily,
        anomalies=analyze.anomalies(store),
        forecast=forecast,
        coverage=analyze.tag_coverage(store),
        units=analyze.unit_costs(store),
        recommendations=recommend(store, params),
    )


def _table(frame: pd.DataFrame, limit: int = 20) -> str:
    if frame.empty:
        return "<p><em>none</em></p>"
    return str(
        frame.head(limit).to_html(index=False, border=0, classes="t", float_format="{:,.2f}".format)
    )


def _figures(s: Summary) -> list[tuple[str, go.Figure]]:
    figs = []
    daily = go.Figure()
    for provider, rows in s.daily.groupby("provider"):
        daily.add_trace(
            go.Scatter(
                x=rows["day"], y=rows["cost"], name=str(provider), stackgroup="one", mode="lines"
            )
        )
    if not s.anomalies.empty:
        per_day = s.daily.groupby("day")["cost"].sum()
        days = pd.to_datetime(s.anomalies["date"]).dt.date
        daily.add_trace(
            go.Scatter(
                x=days,
                y=[per_day.get(d, 0.0) for d in days],
                mode="markers",
                name="anomaly",
                marker={"size": 12, "symbol": "x", "color": "crimson"},
                text=[
                    f"{r.provider} / {r.service}: +{r.excess:,.0f}"
                    for r in s.anomalies.itertuples()
                ],
            )
        )
    daily.update_layout(title=f"Daily effective cost ({s.currency})", hovermode="x unified")
    figs.append(("daily", daily))
    svc = s.by_service.iloc[::-1]
    figs.append(
        (
            "services",
            go.Figure(
                go.Bar(
                    x=svc["cost"],
                    y=svc["provider"] + " / " + svc["service"],
                    orientation="h",
                )
            ).update_layout(title="Top services", margin={"l": 320}),
        )
    )
    figs.append(
        (
            "teams",
            go.Figure(
                go.Pie(labels=s.by_team["team"], values=s.by_team["cost"], hole=0.4)
            ).update_layout(title="By team tag"),
        )
    )
    if s.forecast:
        f = s.forecast
        figs.append(
            (
                "forecast",
                go.Figure(
                    go.Bar(
                        x=["spent so far", "forecast month end"],
                        y=[f.spent_to_date, f.forecast],
                        error_y={
                            "type": "data",
                            "symmetric": False,
                            "array": [0, f.high - f.forecast],
                            "arrayminus": [0, f.forecast - f.low],
                        },
                    )
                ).update_layout(title=f"{f.month}: forecast with a {f.level:.0%} interval"),
            )
        )
    return figs


def write_dashboard(s: Summary, out: Path) -> Path:
    """Write a single HTML file: Plotly's JavaScript is inlined once, so it opens offline."""
    parts = []
    for n, (_, fig) in enumerate(_figures(s)):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=n == 0))
    recs = pd.DataFrame(
        [
            {
                "kind": r.kind,
                "provider": r.provider,
                "resource": r.resource,
                "action": r.action,
                "monthly saving": r.monthly_saving,
                "why": r.reason,
            }
            for r in s.recommendations
        ]
    )
    f = s.forecast
    forecast = (
        (
            f"{f.month}: {f.forecast:,.2f} ({f.level:.0%} interval {f.low:,.2f} - "
            f"{f.high:,.2f}), {f.spent_to_date:,.2f} spent by {f.as_of}"
        )
        if f
        else "not enough history for a forecast"
    )
    body = f"""<!doctype html><html><head><meta charset="utf-8">
<title>costlens: {s.start} to {s.end}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}}
table.t{{border-collapse:collapse;font-size:.9em}} table.t td,table.t th{{padding:.2em .6em;
border-bottom:1px solid #ddd;text-align:left}}</style></head><body>
<h1>Cloud cost: {html.escape(s.start)} to {html.escape(s.end)}</h1>
<p><b>{s.total:,.2f} {html.escape(s.currency)}</b> effective cost; forecast {html.escape(forecast)};
recommendations save <b>{s.saving:,.2f}</b> a month.</p>
{"".join(parts)}
<h2>Anomalies</h2>{_table(s.anomalies)}
<h2>Recommendations</h2>{_table(recs)}
<h2>Tag coverage (team)</h2>{_table(s.coverage)}
<h2>Unit costs</h2><h3>Training runs</h3>{_table(s.units["runs"])}
<h3>Cost per 1,000 predictions</h3>{_table(s.units["apps"])}
</body></html>"""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out


def digest_text(s: Summary, *, recent_days: int = 7) -> str:
    """A plain-text digest: totals, top services, recent anomalies, forecast, top savings."""
    lines = [
        f"costlens digest: {s.start} to {s.end}",
        f"Total effective cost: {s.total:,.2f} {s.currency}",
        "",
        "By provider:",
    ]
    lines += [
        f"  {r.provider:<14} {r.cost:>12,.2f}  {r.share:6.1%}" for r in s.by_provider.itertuples()
    ]
    lines += ["", "Top services:"]
    lines += [
        f"  {r.provider} / {r.service}: {r.cost:,.2f}" for r in s.by_service.head(5).itertuples()
    ]
    cutoff = (pd.Timestamp(s.end) - pd.Timedelta(days=recent_days - 1)).date().isoformat()
    recent = s.anomalies[s.anomalies["date"] >= cutoff]
    lines += ["", f"Anomalies in the last {recent_days} days: {len(recent)}"]
    lines += [
        f"  {r.date} {r.provider} / {r.service}: {r.cost:,.2f} (baseline {r.baseline:,.2f})"
        for r in recent.itertuples()
    ]
    if s.forecast:
        f = s.forecast
        lines += [
            "",
            f"Forecast {f.month}: {f.forecast:,.2f} ({f.level:.0%} interval "
            f"{f.low:,.2f} - {f.high:,.2f})",
        ]
    lines += ["", f"Recommendations: {len(s.recommendations)}, saving {s.saving:,.2f} a month"]
    lines += [
        f"  {r.monthly_saving:>10,.2f}  {r.kind:<10} {r.action}  [{r.resource}]"
        for r in s.recommendations[:5]
    ]
    return "\n".join(lines) + "\n"


def digest_payload(s: Summary) -> dict[str, Any]:
    """The webhook body: Slack-compatible ``text`` plus the figures as fields."""
    return {
        "text": digest_text(s),
        "period": {"start": s.start, "end": s.end},
        "total": s.total,
        "currency": s.currency,
        "anomalies": len(s.anomalies),
        "forecast": s.forecast.as_dict() if s.forecast else None,
        "monthly_saving": s.saving,
    }
