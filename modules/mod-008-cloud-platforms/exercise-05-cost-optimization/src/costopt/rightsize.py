"""Rightsizing from utilization series, against the shipped instance catalog.

For each machine: the p95 and the peak (max) of CPU, memory and GPU over the lookback. The
capacity it needs is the peak times ``1 + headroom`` in vCPUs and GiB, and the GPUs in use at
the peak (no headroom: a busy GPU is the goal); the cheapest
catalog type that has at least that much (same family first, then any family with the same
kind of accelerator) is the recommendation. It never goes below the observed peak plus
headroom, by construction and by test; a machine already too small is flagged ``upsize``.
"""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from costopt.errors import CostoptError

HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class InstanceType:
    name: str
    family: str
    vcpu: int
    memory_gib: float
    gpus: int
    hourly: float


@functools.cache
def catalog() -> dict[str, InstanceType]:
    text = resources.files("costopt").joinpath("data/instances.csv").read_text()
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {
        r["instance_type"]: InstanceType(
            r["instance_type"],
            r["family"],
            int(r["vcpu"]),
            float(r["memory_gib"]),
            int(r["gpus"]),
            float(r["hourly_usd"]),
        )
        for r in rows
    }


@dataclass
class Rightsizing:
    instance_id: str
    current: str
    target: str
    action: str  # downsize, upsize, keep, no-fit (no catalog type is big enough: scale out)
    cpu_p95: float
    cpu_peak: float
    mem_p95: float
    mem_peak: float
    gpu_peak: float
    need_vcpu: float
    need_mem_gib: float
    need_gpus: int
    monthly_saving: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_utilization(path: Path) -> pd.DataFrame:
    """A CSV of samples: timestamp, instance_id, instance_type, cpu_pct, mem_pct[, gpu_pct]."""
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise CostoptError(f"{path}: cannot read it: {str(exc).splitlines()[0]}") from exc
    need = ["timestamp", "instance_id", "instance_type", "cpu_pct", "mem_pct"]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise CostoptError(f"{path}: missing column(s) {', '.join(missing)}")
    if frame.empty:
        raise CostoptError(f"{path}: no samples")
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], errors="coerce", utc=True)
    for column in ("cpu_pct", "mem_pct", "gpu_pct"):
        if column in frame.columns:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    bad = (
        frame["timestamp"].isna() | ~np.isfinite(frame["cpu_pct"]) | ~np.isfinite(frame["mem_pct"])
    )
    bad |= (frame["cpu_pct"] < 0) | (frame["cpu_pct"] > 100) | (frame["mem_pct"] < 0)
    bad |= frame["mem_pct"] > 100
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise CostoptError(
            f"{path}:{row}: {int(bad.sum())} sample(s) with a bad timestamp or a "
            "percentage outside 0-100; nothing used"
        )
    return frame


def recommend(
    samples: pd.DataFrame, *, headroom: float = 0.2, lookback_days: int = 14
) -> list[Rightsizing]:
    """One recommendation per machine (keep, downsize or upsize)."""
    if not 0 <= headroom <= 2:
        raise CostoptError(f"--headroom must be between 0 and 2, got {headroom}")
    types = catalog()
    end = samples["timestamp"].max()
    recent = samples[samples["timestamp"] > end - pd.Timedelta(days=lookback_days)]
    out = []
    for (instance_id, current_name), rows in recent.groupby(["instance_id", "instance_type"]):
        current = types.get(str(current_name))
        if current is None:
            raise CostoptError(f"{instance_id}: instance type {current_name} is not in the catalog")
        gpu = rows["gpu_pct"].fillna(0) if "gpu_pct" in rows else pd.Series(0.0, index=rows.index)
        cpu_peak, mem_peak, gpu_peak = rows["cpu_pct"].max(), rows["mem_pct"].max(), gpu.max()
        need_vcpu = current.vcpu * cpu_peak / 100 * (1 + headroom)
        need_mem = current.memory_gib * mem_peak / 100 * (1 + headroom)
        # GPUs: no headroom (a saturated GPU is the goal, not a risk); never fewer than in use.
        need_gpus = max(1, math.ceil(current.gpus * gpu_peak / 100 - 1e-9)) if current.gpus else 0
        fits = [
            t
            for t in types.values()
            if t.vcpu >= need_vcpu
            and t.memory_gib >= need_mem
            and t.gpus >= need_gpus
            and (t.gpus > 0) == (current.gpus > 0)
        ]
        same_family = [t for t in fits if t.family == current.family]
        pool = same_family or fits
        target = min(pool, key=lambda t: (t.hourly, t.vcpu)) if pool else None
        if target is None:
            action, target = "no-fit", current  # nothing in the catalog is big enough: scale out
        elif target.hourly < current.hourly:
            action = "downsize"
        elif target.hourly > current.hourly:
            action = "upsize"
        else:
            action, target = "keep", current
        out.append(
            Rightsizing(
                str(instance_id),
                current.name,
                target.name,
                action,
                round(float(rows["cpu_pct"].quantile(0.95)), 1),
                round(float(cpu_peak), 1),
                round(float(rows["mem_pct"].quantile(0.95)), 1),
                round(float(mem_peak), 1),
                round(float(gpu_peak), 1),
                round(need_vcpu, 2),
                round(need_mem, 2),
                need_gpus,
                round((current.hourly - target.hourly) * HOURS_PER_MONTH, 2),
            )
        )
    return sorted(out, key=lambda r: -r.monthly_saving)
