"""Spend breakdowns, tag coverage, unit costs, anomaly detection and a month-end forecast.

Everything is a SQL query over the FOCUS table plus a little numpy; each function returns a
DataFrame (or a small dataclass) that the CLI prints and the dashboard plots.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from costlens.errors import CostlensError
from costlens.store import Store

DIMENSIONS = {
    "provider": "ProviderName",
    "service": "ServiceName",
    "category": "ServiceCategory",
    "charge": "ChargeCategory",
    "pricing": "PricingCategory",
    "region": "RegionId",
    "account": "SubAccountId",
    "resource": "ResourceId",
    "day": "CAST(ChargePeriodStart AS DATE)",
    "month": "strftime(ChargePeriodStart, '%Y-%m')",
}
METRICS = {"effective": "EffectiveCost", "billed": "BilledCost", "list": "ListCost"}
_TAG = re.compile(r"^tag:([A-Za-z0-9_.:/-]{1,64})$")


def _dimension(name: str) -> str:
    if name in DIMENSIONS:
        return DIMENSIONS[name]
    if name == "team":
        name = "tag:team"
    match = _TAG.match(name)
    if match:
        return f"coalesce(json_extract_string(Tags, '$.\"{match.group(1)}\"'), '(untagged)')"
    known = ", ".join([*DIMENSIONS, "team", "tag:<key>"])
    raise CostlensError(f"unknown dimension {name!r}; use {known}")


def spend(
    store: Store,
    by: list[str],
    *,
    metric: str = "effective",
    top: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> pd.DataFrame:
    """Total cost grouped by dimensions (``provider``, ``service``, ``team``, ``tag:<key>``...).

    Returns:
        One row per group, largest first, with ``cost`` and its ``share`` of the total.
    """
    if metric not in METRICS:
        raise CostlensError(f"unknown metric {metric!r}; use {', '.join(METRICS)}")
    if not by:
        raise CostlensError("give at least one dimension to group by")
    if top is not None and top < 1:
        raise CostlensError(f"--top must be at least 1, got {top}")
    exprs = [f'{_dimension(d)} AS "{d}"' for d in by]
    where, params = _period(since, until)
    sql = (
        f"SELECT {', '.join(exprs)}, round(sum({METRICS[metric]}), 2) AS cost FROM focus "
        f"{where} GROUP BY ALL ORDER BY cost DESC"
    )
    frame = store.df(sql, params)
    total = frame["cost"].sum()
    frame["share"] = (frame["cost"] / total).round(4) if total else 0.0
    return frame.head(top) if top else frame


def _period(since: date | None, until: date | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if since:
        clauses.append("ChargePeriodStart >= ?")
        params.append(pd.Timestamp(since))
    if until:
        clauses.append("ChargePeriodStart < ?")
        params.append(pd.Timestamp(until) + pd.Timedelta(days=1))
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def tag_coverage(store: Store, key: str = "team") -> pd.DataFrame:
    """Per provider: the share of cost carrying tag ``key``, and the untagged cost.

    Only rows that belong to a resource count (taxes and commitment fees carry no tags).
    """
    if not re.fullmatch(r"[A-Za-z0-9_.:/-]{1,64}", key):
        raise CostlensError(f"bad tag key {key!r}")
    tag = f"json_extract_string(Tags, '$.\"{key}\"')"
    return store.df(
        f"SELECT ProviderName AS provider, round(sum(EffectiveCost), 2) AS cost, "
        f"round(sum(EffectiveCost) FILTER (WHERE {tag} IS NOT NULL), 2) AS tagged, "
        f"round(sum(EffectiveCost) FILTER (WHERE {tag} IS NULL), 2) AS untagged, "
        f"count(DISTINCT ResourceId) FILTER (WHERE {tag} IS NULL) AS untagged_resources, "
        f"round(coalesce(sum(EffectiveCost) FILTER (WHERE {tag} IS NOT NULL), 0) "
        f"/ nullif(sum(EffectiveCost), 0), 4) AS coverage "
        f"FROM focus WHERE ResourceId IS NOT NULL AND ChargeCategory = 'Usage' "
        f"GROUP BY ALL ORDER BY provider"
    ).fillna({"tagged": 0.0, "untagged": 0.0})


def untagged_resources(store: Store, key: str = "team", top: int = 20) -> pd.DataFrame:
    """The untagged resources that cost the most."""
    tag = f"json_extract_string(Tags, '$.\"{key}\"')"
    return store.df(
        f"SELECT ProviderName AS provider, ServiceName AS service, ResourceId AS resource, "
        f"round(sum(EffectiveCost), 2) AS cost FROM focus WHERE ResourceId IS NOT NULL AND "
        f"ChargeCategory = 'Usage' AND {tag} IS NULL GROUP BY ALL ORDER BY cost DESC LIMIT ?",
        [top],
    )


def unit_costs(store: Store) -> dict[str, pd.DataFrame]:
    """Cost per training run (tag ``run_id``) and per 1,000 predictions (tag ``app`` plus the
    request counts the bill itself meters, e.g. Lambda ``Request`` usage)."""
    runs = store.df(
        "SELECT json_extract_string(Tags, '$.run_id') AS run_id, ProviderName AS provider, "
        "ServiceName AS service, any_value(json_extract_string(Tags, '$.team')) AS team, "
        "round(sum(ConsumedQuantity) FILTER (WHERE ConsumedUnit IN ('Hrs', 'hour', '1 Hour')),"
        " 2) AS hours, round(sum(EffectiveCost), 2) AS cost FROM focus "
        "WHERE json_extract_string(Tags, '$.run_id') IS NOT NULL GROUP BY ALL "
        "ORDER BY run_id"
    )
    apps = store.df(
        "SELECT json_extract_string(Tags, '$.app') AS app, round(sum(EffectiveCost), 2) AS cost,"
        " sum(ConsumedQuantity) FILTER (WHERE lower(x_UsageType) LIKE '%request%') "
        "AS predictions FROM focus WHERE json_extract_string(Tags, '$.app') IS NOT NULL "
        "GROUP BY ALL ORDER BY app"
    )
    apps["cost_per_1k"] = (apps["cost"] / apps["predictions"] * 1000).round(6)
    return {"runs": runs, "apps": apps}


# ---------------------------------------------------------------------------------- anomalies


def daily_series(store: Store) -> pd.DataFrame:
    """Daily usage cost per (provider, service), every day present (0 where nothing ran)."""
    frame = store.df(
        "SELECT ProviderName AS provider, ServiceName AS service, "
        "CAST(ChargePeriodStart AS DATE) AS day, sum(EffectiveCost) AS cost FROM focus "
        "WHERE ChargeCategory = 'Usage' GROUP BY ALL"
    )
    if frame.empty:
        raise CostlensError("the cost store has no usage rows; run `costlens ingest` first")
    frame["day"] = pd.to_datetime(frame["day"])
    days = pd.date_range(frame["day"].min(), frame["day"].max(), freq="D")
    return (
        frame.pivot_table(
            index="day", columns=["provider", "service"], values="cost", aggfunc="sum"
        )
        .reindex(days)
        .fillna(0.0)
    )


@dataclass
class AnomalyParams:
    """Knobs of the detector (defaults tuned on the sample data, see the README)."""

    window: int = 14  # days of history the baseline looks at
    threshold: float = 4.0  # robust z-score above which a day is flagged
    min_excess: float = 25.0  # and the cost above the baseline, in the billing currency


def detect_anomalies(series: pd.DataFrame, params: AnomalyParams | None = None) -> pd.DataFrame:
    """The anomalies of :func:`scan` (the flagged days)."""
    return scan(series, params)[0]


def scan(
    series: pd.DataFrame, params: AnomalyParams | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Flag days whose cost is far above a seasonal, robust baseline.

    For each series and day, the baseline is the median of the previous ``window`` days of the
    same kind (weekdays against weekdays, weekends against weekends: the weekly pattern), and
    the spread the larger of 1.4826 x MAD and (p90 - median) / 1.2816, so a series of
    intermittent bursts (GPU training) has a wide spread and a steady one a narrow spread. A
    day is an anomaly when (cost - baseline) / spread > threshold and the excess is over
    ``min_excess``. Only increases are flagged (a drop in spend is rarely an incident). A
    series that is zero on 30 % or more of its window (training bursts) is compared with its
    own non-zero days instead, with a spread of at least a quarter of their median (bursts
    vary). A flagged day enters later baselines as its baseline, so a three-day incident is
    flagged on all three days.

    Returns:
        The flagged days, and the series with each flagged day replaced by its baseline
        (what the forecast learns from).
    """
    p = params or AnomalyParams()
    if p.window < 7:
        raise CostlensError(f"the anomaly window must be at least 7 days, got {p.window}")
    found = []
    weekend = series.index.dayofweek >= 5
    cleaned = series.copy()
    for key in series.columns:
        x = series[key].to_numpy()
        clean = x.copy()  # flagged days are replaced by their baseline: no self-masking
        for t in range(p.window, len(x)):
            window = clean[t - p.window : t]
            intermittent = np.mean(window <= 0) >= 0.3
            if intermittent:  # bursts (training jobs): compare with the other bursts
                hist = window[window > 0]
                if x[t] <= 0 or len(hist) < 4:
                    continue
            else:  # weekdays against weekdays, weekends against weekends
                hist = window[weekend[t - p.window : t] == weekend[t]]
                if len(hist) < 3:
                    continue
            med = float(np.median(hist))
            mad = float(np.median(np.abs(hist - med))) * 1.4826
            upper = (float(np.quantile(hist, 0.9)) - med) / 1.2816
            spread = max(mad, upper, (0.25 if intermittent else 0.05) * abs(med), 1e-9)
            score = (x[t] - med) / spread
            if score > p.threshold and x[t] - med > p.min_excess:
                clean[t] = med
                found.append(
                    {
                        "provider": key[0],
                        "service": key[1],
                        "date": series.index[t].date().isoformat(),
                        "cost": round(float(x[t]), 2),
                        "baseline": round(med, 2),
                        "excess": round(float(x[t]) - med, 2),
                        "score": round(float(score), 1),
                    }
                )
        cleaned[key] = clean
    columns = ["provider", "service", "date", "cost", "baseline", "excess", "score"]
    flagged = pd.DataFrame(found, columns=columns).sort_values(
        ["date", "excess"], ascending=[True, False]
    )
    return flagged.reset_index(drop=True), cleaned


def anomalies(store: Store, params: AnomalyParams | None = None) -> pd.DataFrame:
    return detect_anomalies(daily_series(store), params)


@dataclass
class Score:
    """Detection quality against planted anomalies."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        planted = self.true_positives + self.false_negatives
        return self.true_positives / planted if planted else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
        }


def score_anomalies(found: pd.DataFrame, planted: list[dict[str, str]]) -> Score:
    """Compare flagged (provider, service, date) triples with the planted ones."""
    got = {(r.provider, r.service, r.date) for r in found.itertuples()}
    want = {(a["provider"], a["service"], a["date"]) for a in planted}
    return Score(len(got & want), len(got - want), len(want - got))


# ----------------------------------------------------------------------------------- forecast


@dataclass
class Forecast:
    """Month-end spend: what is spent so far, the forecast and its interval."""

    month: str
    as_of: str
    days_left: int
    spent_to_date: float
    forecast: float
    low: float
    high: float
    level: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def daily_totals(store: Store) -> pd.Series:
    frame = store.df(
        "SELECT CAST(ChargePeriodStart AS DATE) AS day, sum(EffectiveCost) AS cost "
        "FROM focus WHERE ChargeCategory = 'Usage' GROUP BY ALL"
    )
    if frame.empty:
        raise CostlensError("the cost store has no usage rows; run `costlens ingest` first")
    s = frame.set_index(pd.to_datetime(frame["day"]))["cost"].sort_index()
    return s.reindex(pd.date_range(s.index.min(), s.index.max(), freq="D"), fill_value=0.0)


def forecast_month(
    store: Store,
    as_of: date | None = None,
    *,
    level: float = 0.9,
    history: int = 28,
    sims: int = 4000,
    seed: int = 0,
) -> Forecast:
    """Forecast the month's total effective cost from the days up to ``as_of``.

    Usage: each remaining day is simulated as a day drawn from the last ``history`` days of
    the same kind (weekday or weekend), shifted by the level uncertainty of that history (a
    double bootstrap), so the interval carries the real day-to-day noise, bursts included.
    The history is the daily usage with detected anomalies replaced by their baselines
    (:func:`scan`): a past incident is not forecast to repeat every day; the days already
    spent count as they were. One-off charges already posted this month (purchases, taxes)
    are added as they are; none are invented.
    """
    if not 0.5 <= level < 1:
        raise CostlensError(f"the interval level must be in [0.5, 1), got {level}")
    totals = daily_totals(store)
    learn = scan(daily_series(store))[1].sum(axis=1)
    end = pd.Timestamp(as_of) if as_of else totals.index.max()
    if end < totals.index.min():
        raise CostlensError(f"--as-of {end.date()} is before the first day in the store")
    past = learn[:end].tail(history)
    if len(past) < 7:
        raise CostlensError("a forecast needs at least 7 days of history")
    month_start = end.replace(day=1)
    month_end = month_start + pd.offsets.MonthEnd(0)
    one_offs = store.scalar(
        "SELECT coalesce(sum(EffectiveCost), 0) FROM focus WHERE ChargeCategory <> 'Usage' "
        "AND ChargePeriodStart >= ? AND ChargePeriodStart < ?",
        [month_start, end + pd.Timedelta(days=1)],
    )
    spent = float(totals[month_start:end].sum()) + float(one_offs)
    remaining = pd.date_range(end + pd.Timedelta(days=1), month_end, freq="D")
    rng = np.random.default_rng(seed)
    future = np.zeros(sims)
    weekend = past.index.dayofweek >= 5
    for kind in (False, True):
        days = int(sum((d.dayofweek >= 5) == kind for d in remaining))
        values = past[weekend == kind].to_numpy() if (weekend == kind).any() else past.to_numpy()
        if not days:
            continue
        # Each simulated day is a past day of the same kind (its spend, bursts and all); the
        # level itself is uncertain too, so each simulation also shifts by the mean of a
        # resample of the history (a double bootstrap).
        draws = rng.choice(values, size=(sims, days)).sum(axis=1)
        shift = rng.choice(values, size=(sims, len(values))).mean(axis=1) - values.mean()
        future += draws + days * shift
    totals_sim = spent + np.clip(future, 0, None)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    return Forecast(
        month=f"{month_start:%Y-%m}",
        as_of=end.date().isoformat(),
        days_left=len(remaining),
        spent_to_date=round(spent, 2),
        forecast=round(float(np.median(totals_sim)), 2),
        low=round(float(np.quantile(totals_sim, lo_q)), 2),
        high=round(float(np.quantile(totals_sim, hi_q)), 2),
        level=level,
    )
