"""A synthetic month for the demo and the tests: a tagged EC2 fleet, its daily cost, its
utilization samples. Seeded; nothing random survives between runs with the same seed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from costopt.rightsize import catalog

#: The demo fleet: type, tags, and how busy it is (cpu, mem as typical p95 %, gpu).
FLEET: list[dict[str, Any]] = [
    {
        "type": "m5.4xlarge",
        "tags": {"Name": "etl-1", "team": "data", "env": "prod"},
        "cpu": 14,
        "mem": 18,
    },
    {
        "type": "m5.xlarge",
        "tags": {"Name": "api-1", "team": "serving", "env": "prod"},
        "cpu": 62,
        "mem": 55,
    },
    {
        "type": "c5.2xlarge",
        "tags": {
            "Name": "notebook-ana",
            "team": "research",
            "env": "dev",
            "Schedule": "office-hours",
        },
        "cpu": 35,
        "mem": 40,
    },
    {
        "type": "g5.2xlarge",
        "tags": {"Name": "gpu-dev-1", "team": "research", "env": "dev", "Schedule": "office-hours"},
        "cpu": 20,
        "mem": 25,
        "gpu": 30,
    },
    {
        "type": "r5.2xlarge",
        "tags": {"Name": "feature-cache", "team": "data", "env": "prod"},
        "cpu": 40,
        "mem": 70,
    },
    {
        "type": "t3.large",
        "tags": {
            "Name": "forgotten-poc",
            "team": "research",
            "env": "dev",
            "Schedule": "idle-check",
        },
        "cpu": 1,
        "mem": 10,
    },
    {
        "type": "p3.2xlarge",
        "tags": {"Name": "trainer-1", "team": "research", "env": "prod"},
        "cpu": 50,
        "mem": 60,
        "gpu": 92,
    },
]


def daily_usage(
    ids: list[str], month: date, seed: int = 0, fleet: list[dict[str, Any]] = FLEET
) -> pd.DataFrame:
    """One row per instance per day of ``month``, plus untagged shared costs (NAT, support)."""
    rng = np.random.default_rng(seed)
    types = catalog()
    first = month.replace(day=1)
    days = [
        first + timedelta(days=i)
        for i in range(31)
        if (first + timedelta(days=i)).month == first.month
    ]
    rows = []
    for instance_id, spec in zip(ids, fleet, strict=True):
        hourly = types[spec["type"]].hourly
        for d in days:
            hours = 24.0
            if spec["tags"].get("Schedule") == "office-hours":
                hours = 0.0 if d.weekday() >= 5 else 11.0
            if hours:
                rows.append(
                    {
                        "date": d,
                        "team": spec["tags"].get("team", ""),
                        "env": spec["tags"].get("env", ""),
                        "resource_id": instance_id,
                        "service": "EC2",
                        "cost": round(hours * hourly, 4),
                    }
                )
    for d in days:
        rows.append(
            {
                "date": d,
                "team": "",
                "env": "",
                "resource_id": "nat-shared",
                "service": "VPC",
                "cost": round(float(rng.uniform(30, 45)), 4),
            }
        )
    return pd.DataFrame(rows)


def utilization(
    ids: list[str],
    end: datetime,
    days: int = 14,
    seed: int = 0,
    fleet: list[dict[str, Any]] = FLEET,
) -> pd.DataFrame:
    """Hourly samples (CPU, memory, GPU %) with a daily cycle and noise, per instance."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range(end - timedelta(days=days), end, freq="h", tz=UTC)
    frames = []
    for instance_id, spec in zip(ids, fleet, strict=True):
        cycle = 0.75 + 0.25 * np.sin((hours.hour.to_numpy() - 6) / 24 * 2 * np.pi)

        def series(level: float, cycle: np.ndarray = cycle) -> np.ndarray:
            return np.clip(level * cycle * np.exp(rng.normal(0, 0.08, len(hours))), 0, 100)

        frame = pd.DataFrame(
            {
                "timestamp": hours,
                "instance_id": instance_id,
                "instance_type": spec["type"],
                "cpu_pct": series(spec["cpu"]).round(2),
                "mem_pct": series(spec["mem"]).round(2),
                "gpu_pct": series(spec.get("gpu", 0)).round(2) if spec.get("gpu") else np.nan,
            }
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
