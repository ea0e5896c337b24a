"""Monthly cost estimate of an environment from a small shipped price table.

Inputs are the environment's own values (parsed from its ``main.tf``) and its sizing profile
(evaluated by Terraform from the naming module), so the estimate follows the code: a reviewer
sees what a change to ``gpu_nodes`` or ``db_instance_class`` costs before anything is applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tfml.errors import TfmlError


@dataclass(frozen=True)
class LineItem:
    item: str
    detail: str
    monthly: float
    #: Cost with every autoscaled group at its maximum.
    monthly_at_max: float


@dataclass(frozen=True)
class Estimate:
    environment: str
    items: list[LineItem]

    @property
    def total(self) -> float:
        return sum(i.monthly for i in self.items)

    @property
    def total_at_max(self) -> float:
        return sum(i.monthly_at_max for i in self.items)


def load_prices(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TfmlError(f"price table {path}: {exc}") from None
    if not isinstance(doc, dict) or "ec2" not in doc:
        raise TfmlError(f"price table {path} has no ec2 section")
    return doc


def _price(table: dict[str, Any], section: str, key: str, source: str) -> float:
    try:
        return float(table[section][key])
    except KeyError:
        raise TfmlError(f"no {section} price for {key!r} in {source}") from None


def estimate(
    environment: str,
    values: dict[str, Any],
    sizing: dict[str, Any],
    prices: dict[str, Any],
    *,
    source: str = "the price table",
    artifacts_gb: float = 500,
) -> Estimate:
    """Line items for one environment: values are the platform module's arguments."""
    hours = float(prices.get("hours_per_month", 730))
    items: list[LineItem] = []

    def add(item: str, detail: str, monthly: float, at_max: float | None = None) -> None:
        peak = monthly if at_max is None else at_max
        items.append(LineItem(item, detail, round(monthly, 2), round(peak, 2)))

    add("EKS control plane", "1 cluster", prices["eks_control_plane"] * hours)

    system = values["system_nodes"]
    sys_type = str(values.get("system_instance_type", "m6i.large"))
    rate = _price(prices, "ec2", sys_type, source) * hours
    detail = f"{system['desired']}-{system['max']} x {sys_type}"
    add("system nodes", detail, rate * system["desired"], rate * system["max"])

    gpu = values["gpu_nodes"]
    gpu_type = str(values.get("gpu_instance_type", "g5.xlarge"))
    rate = _price(prices, "ec2", gpu_type, source) * hours
    spot = sizing.get("gpu_capacity_type") == "SPOT"
    if spot:
        rate *= 1 - float(prices.get("spot_discount", 0))
    detail = f"{gpu['desired']}-{gpu['max']} x {gpu_type}" + (" spot" if spot else "")
    add("GPU nodes", detail, rate * gpu["desired"], rate * gpu["max"])

    nats = int(sizing["nat_gateways"])
    nat_rate = (prices["nat_gateway"] + prices["public_ipv4"]) * hours
    add("NAT gateways", f"{nats} + public IPv4", nats * nat_rate)

    db_class = str(values["db_instance_class"])
    storage = float(values["db_storage_gb"])
    copies = 2 if sizing.get("db_multi_az") else 1
    db = _price(prices, "rds", db_class, source) * hours + storage * prices["rds_storage_gb_month"]
    detail = f"{db_class}, {storage:.0f} GB" + (", Multi-AZ" if copies == 2 else "")
    add("PostgreSQL (RDS)", detail, db * copies)

    add("S3 artifacts", f"~{artifacts_gb:.0f} GB stored", artifacts_gb * prices["s3_gb_month"])
    add("KMS key + alarms", "1 key, 3 alarms", prices["kms_key_month"] + 3 * prices["alarm_month"])
    return Estimate(environment, items)
