"""Savings recommendations, each with its estimated monthly saving and the rows that prove it.

- **idle**: a machine whose daily p95 CPU stayed under ``idle_cpu`` % for the whole lookback
  is still billed: stop it (saving: what it costs a month);
- **rightsize**: a busy machine whose peak need (p95 CPU and memory times ``1 + headroom``)
  fits a smaller size of the same family in the shipped catalog: move down (saving: the price
  difference for the hours it runs). Never below the observed peak plus headroom;
- **commitment**: on-demand compute that runs every day (its lowest daily spend, a floor that
  a commitment would always use) is not yet covered by a savings plan / committed use /
  reservation: commit to that floor (saving: the floor times the published discount);
- **storage**: a bucket billed for storage with no read requests in the lookback: move it to
  the infrequent-access class (saving: the price ratio of the two classes).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from costlens.catalog import family_sizes, load_catalog
from costlens.errors import CostlensError
from costlens.store import Store

DAYS_PER_MONTH = 730 / 24
#: Published list-price discounts of a 1-year, no-upfront commitment on general-purpose
#: compute (AWS Compute Savings Plan, GCP resource-based committed use, Azure reservation).
COMMITMENT_DISCOUNT = {"AWS": 0.28, "Google Cloud": 0.37, "Microsoft": 0.37}
#: Infrequent-access price / standard price (S3 Standard-IA 0.0125/0.023, GCS Nearline
#: 0.010/0.026 multi-region, Azure Blob Cool 0.0100/0.0184 LRS).
COLD_PRICE_RATIO = {
    "AWS": 0.0125 / 0.023,
    "Google Cloud": 0.010 / 0.026,
    "Microsoft": 0.0100 / 0.0184,
}
PROVIDER_KEYS = {"AWS": "aws", "Google Cloud": "gcp", "Microsoft": "azure"}


@dataclass
class Recommendation:
    """One thing to do, what it saves a month and why."""

    kind: str
    provider: str
    resource: str
    action: str
    monthly_saving: float
    reason: str
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Params:
    """The knobs (defaults used by the demo and the tests)."""

    lookback: int = 14  # days
    idle_cpu: float = 5.0  # % p95
    headroom: float = 0.3  # above the observed peak
    min_saving: float = 5.0  # per month, in the billing currency


def _window(store: Store, lookback: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    if lookback < 1:
        raise CostlensError(f"--lookback must be at least 1 day, got {lookback}")
    _, last = store.period()
    return last - pd.Timedelta(days=lookback - 1), last


def _resource_costs(store: Store, start: pd.Timestamp) -> pd.DataFrame:
    """Usage cost per machine in the window, and the days it was billed."""
    return store.df(
        "SELECT ResourceId AS resource_id, ProviderName AS provider, sum(EffectiveCost) AS cost,"
        " sum(ListCost) AS list_cost, count(DISTINCT CAST(ChargePeriodStart AS DATE)) AS days, "
        "any_value(x_InstanceType) AS instance_type FROM focus WHERE ChargeCategory = 'Usage' "
        "AND ChargePeriodStart >= ? AND ResourceId IS NOT NULL GROUP BY ALL",
        [start],
    )


def machines(store: Store, p: Params) -> tuple[list[Recommendation], list[Recommendation]]:
    """Idle and rightsizing recommendations from the utilization table."""
    start, _ = _window(store, p.lookback)
    util = store.df(
        "SELECT provider, resource_id, any_value(instance_type) AS instance_type, "
        "max(cpu_p95) AS cpu_peak, max(mem_p95) AS mem_peak, count(*) AS days, "
        "list({'date': CAST(date AS VARCHAR), 'cpu_p95': cpu_p95, 'mem_p95': mem_p95} "
        "ORDER BY date) AS rows FROM utilization WHERE date >= ? GROUP BY ALL",
        [start.date()],
    )
    if util.empty:
        return [], []
    costs = _resource_costs(store, start).set_index("resource_id")
    catalog = load_catalog()
    window_days = p.lookback
    idle, resize = [], []
    for row in util.itertuples():
        if row.resource_id not in costs.index:
            continue  # not in the bill (another account, or already gone)
        billed = costs.loc[row.resource_id]
        monthly = float(billed["cost"]) / window_days * DAYS_PER_MONTH
        evidence = list(row.rows)[-7:]
        if row.cpu_peak < p.idle_cpu:
            if monthly >= p.min_saving:
                idle.append(
                    Recommendation(
                        "idle",
                        str(billed["provider"]),
                        row.resource_id,
                        f"stop {row.instance_type} (snapshot it first if it holds state)",
                        round(monthly, 2),
                        f"p95 CPU never above {row.cpu_peak:.1f}% in {row.days} days, still billed "
                        f"{float(billed['cost']):.2f} in the last {window_days} days",
                        evidence,
                    )
                )
            continue
        current = catalog.get(
            (PROVIDER_KEYS.get(str(billed["provider"]), ""), str(row.instance_type))
        )
        if current is None or current.gpus:
            continue
        need_cpu = current.vcpu * row.cpu_peak / 100 * (1 + p.headroom)
        need_mem = current.memory_gib * row.mem_peak / 100 * (1 + p.headroom)
        fits = [
            i
            for i in family_sizes(current.provider, current.family)
            if i.vcpu >= need_cpu and i.memory_gib >= need_mem
        ]
        if not fits or fits[0].hourly >= current.hourly:
            continue
        target = fits[0]
        saving = monthly * (1 - target.hourly / current.hourly)
        if saving >= p.min_saving:
            resize.append(
                Recommendation(
                    "rightsize",
                    str(billed["provider"]),
                    row.resource_id,
                    f"resize {current.name} -> {target.name}",
                    round(saving, 2),
                    f"peak p95 CPU {row.cpu_peak:.1f}% of {current.vcpu} vCPU and memory "
                    f"{row.mem_peak:.1f}% of {current.memory_gib:g} GiB need {need_cpu:.1f} vCPU / "
                    f"{need_mem:.1f} GiB with {p.headroom:.0%} headroom; {target.name} has "
                    f"{target.vcpu} / {target.memory_gib:g}",
                    evidence,
                )
            )
    return idle, resize


def commitments(store: Store, p: Params) -> list[Recommendation]:
    """Commit to the on-demand compute floor that runs every day."""
    start, _ = _window(store, p.lookback)
    daily = store.df(
        "SELECT ProviderName AS provider, CAST(ChargePeriodStart AS DATE) AS day, "
        "sum(ListCost) FILTER (WHERE PricingCategory = 'Standard') AS on_demand, "
        "sum(ListCost) FILTER (WHERE PricingCategory = 'Committed' AND BilledCost >= 0) "
        "AS committed FROM focus WHERE ChargeCategory = 'Usage' AND ServiceCategory = 'Compute'"
        " AND x_InstanceType IS NOT NULL AND ChargePeriodStart >= ? GROUP BY ALL",
        [start],
    ).fillna(0.0)
    out = []
    for provider, days in daily.groupby("provider"):
        if len(days) < min(7, p.lookback):
            continue
        floor = float(days["on_demand"].min())
        hourly = math.floor(floor / 24 * 100) / 100  # rounded down: never above the floor
        covered = float(days["committed"].sum())
        total = covered + float(days["on_demand"].sum())
        discount = COMMITMENT_DISCOUNT.get(str(provider), 0.0)
        saving = hourly * 730 * discount
        if saving < p.min_saving:
            continue
        out.append(
            Recommendation(
                "commitment",
                str(provider),
                "(account)",
                f"commit {hourly:.2f}/hour of compute for 1 year (no upfront)",
                round(saving, 2),
                f"coverage {covered / total:.0%} of on-demand-equivalent compute; the lowest daily "
                f"on-demand compute in {len(days)} days was {floor:.2f}, a floor a commitment "
                f"always uses; list discount {discount:.0%}",
                days.sort_values("day").tail(7).astype({"day": str}).round(2).to_dict("records"),
            )
        )
    return out


def storage(store: Store, p: Params) -> list[Recommendation]:
    """Buckets billed for storage that nobody read in the lookback."""
    start, _ = _window(store, p.lookback)
    frame = store.df(
        "SELECT ProviderName AS provider, ResourceId AS resource, "
        "sum(EffectiveCost) FILTER (WHERE ServiceCategory = 'Storage' AND (lower(ConsumedUnit) "
        "LIKE '%month%' OR lower(ConsumedUnit) LIKE 'gb-mo%')) AS storage_cost, "
        "sum(ConsumedQuantity) FILTER (WHERE lower(x_UsageType) LIKE '%request%' OR "
        "lower(ChargeDescription) LIKE '%operation%' OR lower(x_UsageType) LIKE '%operation%')"
        " AS reads, count(DISTINCT CAST(ChargePeriodStart AS DATE)) AS days FROM focus "
        "WHERE ChargeCategory = 'Usage' AND ChargePeriodStart >= ? AND ResourceId IS NOT NULL "
        "GROUP BY ALL",
        [start],
    )
    metered = set(frame.loc[frame["reads"].fillna(0) > 0, "provider"])
    out = []
    for row in frame.itertuples():
        if not row.storage_cost or row.storage_cost <= 0 or (row.reads or 0) > 0:
            continue
        if row.provider not in metered:
            continue  # this export has no request metering for the provider: no claim
        monthly = float(row.storage_cost) / p.lookback * DAYS_PER_MONTH
        saving = monthly * (1 - COLD_PRICE_RATIO.get(str(row.provider), 1.0))
        if saving >= p.min_saving:
            out.append(
                Recommendation(
                    "storage",
                    str(row.provider),
                    str(row.resource),
                    "add a lifecycle rule: infrequent-access class after 30 days",
                    round(saving, 2),
                    f"{float(row.storage_cost):.2f} of storage in {row.days} days and no read "
                    "requests metered (other buckets of this provider show theirs)",
                    [{"storage_cost": round(float(row.storage_cost), 2), "reads": 0}],
                )
            )
    return out


def recommend(store: Store, params: Params | None = None) -> list[Recommendation]:
    """Every recommendation, largest saving first."""
    p = params or Params()
    if not 0 <= p.headroom <= 2:
        raise CostlensError(f"--headroom must be between 0 and 2, got {p.headroom}")
    idle, resize = machines(store, p)
    found = [*idle, *resize, *commitments(store, p), *storage(store, p)]
    return sorted(found, key=lambda r: -r.monthly_saving)
