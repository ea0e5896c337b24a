"""Monthly cost of each cloud's stack from the shipped price tables (prices/<cloud>.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from cloudinfra.errors import CloudinfraError
from cloudinfra.paths import prices_file
from cloudinfra.stacks import Gpu


@dataclass(frozen=True)
class StackCost:
    cloud: str
    environment: str
    items: dict[str, float]
    #: The GPU pool at its maximum instead of its minimum.
    gpu_at_max: float

    @property
    def total(self) -> float:
        return round(sum(self.items.values()), 2)

    @property
    def total_at_max(self) -> float:
        return round(self.total - self.items["GPU nodes"] + self.gpu_at_max, 2)


def load_prices(cloud: str) -> dict[str, Any]:
    path = prices_file(cloud)
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CloudinfraError(f"price table {path}: {exc}") from None
    for key in ("hours_per_month", "control_plane", "system_node", "gpu"):
        if key not in (doc or {}):
            raise CloudinfraError(f"price table {path.name} lacks {key!r}")
    return dict(doc)


def stack_cost(
    cloud: str,
    environment: str,
    gpu: Gpu,
    prices: dict[str, Any],
    *,
    storage_gb: float = 500,
    registry_gb: float = 50,
) -> StackCost:
    """Line items: control plane, one system node, the GPU pool at its minimum, storage,
    registry, keys. The managed ML services have no fixed fee in these stacks."""
    hours = float(prices["hours_per_month"])
    try:
        gpu_rate = float(prices["gpu"][gpu.machine_type]) * hours
    except KeyError:
        raise CloudinfraError(f"no {cloud} price for GPU machine {gpu.machine_type!r}") from None
    if gpu.spot:
        gpu_rate *= 1 - float(prices.get("spot_discount", 0))
    items = {
        "control plane": prices["control_plane"] * hours,
        "system node": prices["system_node"]["hourly"] * hours,
        "GPU nodes": gpu_rate * gpu.min,
        "managed ML service": float(prices.get("managed_ml_fixed_month", 0)),
        "object storage": storage_gb * prices["object_storage_gb_month"],
        "image registry": prices.get("registry_fixed_month", 0)
        + registry_gb * prices["registry_gb_month"],
        "keys": float(prices.get("key_month", 0)),
    }
    return StackCost(
        cloud,
        environment,
        {k: round(v, 2) for k, v in items.items()},
        round(gpu_rate * gpu.max, 2),
    )
