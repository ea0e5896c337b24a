"""Realistic sample billing exports, so the exercise needs no cloud account.

One seeded fleet per cloud is simulated day by day (a weekly pattern: dev machines stop at the
weekend, request volumes dip; GPU training bursts; storage that grows; a few planted anomalies;
untagged and idle resources) and written in each cloud's real export format:

- AWS Cost and Usage Report 2.0 (Data Exports): Parquet (``resource_tags`` a real map column)
  and CSV (the map as JSON), with ``identity_line_item_id``, savings-plan rows and a tax row;
- GCP Cloud Billing export to BigQuery, as newline-delimited JSON with the nested ``service``,
  ``sku``, ``project``, ``labels``, ``location``, ``usage`` and ``credits`` (sustained use
  discounts) fields;
- Azure Cost Management exports (Microsoft Customer Agreement columns), the actual-cost CSV (a
  reservation bought on the 1st, its usage at 0) and the amortized-cost CSV (the reservation
  spread over the usage rows).

Beside them: ``utilization.csv`` (daily CPU/memory/GPU p95 per machine, as CloudWatch / Cloud
Monitoring / Azure Monitor would give) and ``truth.json`` (what was planted, for scoring).
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from costlens.catalog import Instance, load_catalog
from costlens.errors import CostlensError

AWS_PAYER = "111122223333"
AWS_ACCOUNT = "444455556666"
GCP_BILLING_ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
AZURE_BILLING_ACCOUNT = "/providers/Microsoft.Billing/billingAccounts/1234abcd:5678efgh_2019-05-31"
AZURE_SUBSCRIPTION = "a1b2c3d4-0000-4000-8000-00000000cafe"
TEAMS = ("ml-platform", "research", "data-eng", "serving")


@dataclass
class Fact:
    """One priced usage of one resource on one day, before a cloud's format is applied."""

    day: date
    resource_id: str
    service: str
    sku: str
    usage_type: str
    amount: float
    unit: str
    cost: float
    tags: dict[str, str]
    region: str
    instance_type: str = ""
    line_type: str = "Usage"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Machine:
    """A virtual machine of the simulated fleet and how it is used."""

    resource_id: str
    instance: Instance
    tags: dict[str, str]
    weekdays_only: bool
    cpu_p95: float  # typical daily p95 CPU utilization, %
    mem_p95: float


@dataclass
class Truth:
    """What the generator planted, so analyses can be scored."""

    anomalies: list[dict[str, str]] = field(default_factory=list)
    idle: list[str] = field(default_factory=list)
    oversized: list[str] = field(default_factory=list)
    untagged: list[str] = field(default_factory=list)
    cold_storage: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "anomalies": self.anomalies,
            "idle": sorted(set(self.idle)),
            "oversized": sorted(set(self.oversized)),
            "untagged": sorted(set(self.untagged)),
            "cold_storage": sorted(set(self.cold_storage)),
        }


class Fleet:
    """The seeded simulation shared by the three clouds' writers."""

    def __init__(self, start: date, days: int, seed: int, scale: int) -> None:
        if not 7 <= days <= 3660:
            raise CostlensError(f"--days must be 7 (a weekly pattern) to 3660, got {days}")
        if not 1 <= scale <= 10_000:
            raise CostlensError(f"--scale must be 1 to 10,000, got {scale}")
        self.start = start
        self.days = [start + timedelta(days=i) for i in range(days)]
        self.rng = np.random.default_rng(seed)
        self.scale = scale
        self.catalog = load_catalog()
        self.truth = Truth()
        self.planting = True

    def noise(self, n: int = 1, sigma: float = 0.04) -> np.ndarray:
        return np.exp(self.rng.normal(0.0, sigma, n))

    def team_tags(self, i: int, untagged_every: int = 4, **more: str) -> dict[str, str]:
        """Team/env tags; every ``untagged_every``-th resource has none (a real-world gap)."""
        if i % untagged_every == untagged_every - 1:
            return {}
        return {"team": TEAMS[i % len(TEAMS)], "env": "dev" if i % 4 == 0 else "prod", **more}

    def machines(
        self, provider: str, make_id: Callable[[int], str], types: list[str]
    ) -> list[Machine]:
        """A fleet: most machines busy, one idle and one oversized per ``types`` round."""
        out = []
        for i in range(len(types) * self.scale):
            itype = types[i % len(types)]
            rid = make_id(i)
            tags = self.team_tags(i)
            kind = i % len(types)
            cpu, mem = float(self.rng.uniform(45, 75)), float(self.rng.uniform(45, 75))
            if kind == 1:  # idle: still billed, doing nothing
                cpu, mem = float(self.rng.uniform(0.5, 2.5)), float(self.rng.uniform(8, 12))
                self.truth.idle.append(rid)
            elif kind == 2:  # oversized: busy but needs a quarter of it
                cpu, mem = float(self.rng.uniform(9, 14)), float(self.rng.uniform(10, 16))
                self.truth.oversized.append(rid)
            if not tags:
                self.truth.untagged.append(rid)
            out.append(
                Machine(
                    rid, self.catalog[(provider, itype)], tags, tags.get("env") == "dev", cpu, mem
                )
            )
        return out

    def machine_facts(self, m: Machine, service: str, region: str, sku: str) -> list[Fact]:
        facts = []
        for d in self.days:
            if m.weekdays_only and d.weekday() >= 5:
                continue
            hours = 24.0
            facts.append(
                Fact(
                    d,
                    m.resource_id,
                    service,
                    sku,
                    f"BoxUsage:{m.instance.name}",
                    hours,
                    "Hrs",
                    round(hours * m.instance.hourly, 6),
                    m.tags,
                    region,
                    m.instance.name,
                )
            )
        return facts

    def gpu_bursts(
        self, service: str, prefix: str, itype: tuple[str, str], region: str
    ) -> list[Fact]:
        """Training runs: on about a third of the days, 2 to 10 hours on a GPU machine."""
        inst = self.catalog[itype]
        facts = []
        for n, d in enumerate(self.days):
            if self.rng.random() > 0.35:
                continue
            hours = float(np.round(self.rng.uniform(2, 10), 2))
            run = f"{itype[0]}-run-{d:%m%d}-{n:03d}"
            tags = {"team": "research", "env": "prod", "workload": "training", "run_id": run}
            facts.append(
                Fact(
                    d,
                    f"{prefix}{run}",
                    service,
                    f"Training {inst.name}",
                    f"Train:{inst.name}",
                    hours,
                    "Hrs",
                    round(hours * inst.hourly, 6),
                    tags,
                    region,
                    inst.name,
                )
            )
        return facts

    def daily_series(
        self,
        rid: str,
        service: str,
        sku: str,
        usage_type: str,
        unit: str,
        base_amount: float,
        rate: float,
        tags: dict[str, str],
        region: str,
        weekend: float = 1.0,
        growth: float = 0.0,
    ) -> list[Fact]:
        """A metered series (GB, requests, hours) with a weekly pattern and growth."""
        amounts = base_amount * self.noise(len(self.days), 0.06)
        facts = []
        for i, d in enumerate(self.days):
            amount = float(amounts[i]) * (1 + growth * i) * (weekend if d.weekday() >= 5 else 1.0)
            facts.append(
                Fact(
                    d,
                    rid,
                    service,
                    sku,
                    usage_type,
                    round(amount, 4),
                    unit,
                    round(amount * rate, 6),
                    tags,
                    region,
                )
            )
        return facts

    def plant(
        self, facts: list[Fact], provider: str, service: str, when: int, length: int, factor: float
    ) -> None:
        """Multiply a series' usage on ``length`` days from day ``when``: an anomaly."""
        if not self.planting:
            return
        days = {self.days[when + k] for k in range(length) if when + k < len(self.days)}
        for f in facts:
            if f.day in days:
                f.amount = round(f.amount * factor, 4)
                f.cost = round(f.cost * factor, 6)
        for d in sorted(days):
            self.truth.anomalies.append(
                {"provider": provider, "service": service, "date": d.isoformat()}
            )

    def anomaly_day(self) -> int:
        """A day late enough for a 14-day baseline to exist before it."""
        lo = min(21, len(self.days) - 4)
        return int(self.rng.integers(lo, max(lo + 1, len(self.days) - 3)))

    def utilization(self, machines: list[tuple[str, Machine]]) -> pd.DataFrame:
        rows = []
        for provider, m in machines:
            for d in self.days:
                if m.weekdays_only and d.weekday() >= 5:
                    continue
                cpu = float(np.clip(m.cpu_p95 * self.noise(1, 0.15)[0], 0, 100))
                mem = float(np.clip(m.mem_p95 * self.noise(1, 0.08)[0], 0, 100))
                rows.append(
                    {
                        "provider": provider,
                        "resource_id": m.resource_id,
                        "instance_type": m.instance.name,
                        "date": d.isoformat(),
                        "cpu_p95": round(cpu, 2),
                        "mem_p95": round(mem, 2),
                        "gpu_p95": None,
                    }
                )
        return pd.DataFrame(rows)


def _first_busy(machines: list[Machine], truth: Truth) -> Machine:
    """The first machine that runs every day and is neither idle nor oversized."""
    skip = set(truth.idle) | set(truth.oversized)
    busy = [m for m in machines if not m.weekdays_only and m.resource_id not in skip]
    return (busy or machines)[0]


def _interval(d: date) -> tuple[datetime, datetime]:
    begin = datetime(d.year, d.month, d.day)
    return begin, begin + timedelta(days=1)


def _month_bounds(d: date) -> tuple[datetime, datetime]:
    first = datetime(d.year, d.month, 1)
    nxt = datetime(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return first, nxt


# ---------------------------------------------------------------------------------------- AWS

AWS_PRODUCTS = {
    "AmazonEC2": "Amazon Elastic Compute Cloud",
    "AmazonSageMaker": "Amazon SageMaker",
    "AmazonS3": "Amazon Simple Storage Service",
    "AmazonVPC": "Amazon Virtual Private Cloud",
    "AWSLambda": "AWS Lambda",
    "ComputeSavingsPlans": "Savings Plans for AWS Compute usage",
}
SP_ARN = f"arn:aws:savingsplans::{AWS_PAYER}:savingsplan/3f2c6b1e-5f4a-4c2e-9d7b-0a1b2c3d4e5f"
SP_DISCOUNT = 0.28  # a 1-year no-upfront Compute Savings Plan saves about this much on m5


def aws_facts(fleet: Fleet) -> tuple[list[Fact], list[Machine]]:
    region = "us-east-1"
    machines = fleet.machines(
        "aws",
        lambda i: f"arn:aws:ec2:{region}:{AWS_ACCOUNT}:instance/i-0a1b2c3d4e5f6{i:04d}",
        ["m5.xlarge", "t3.medium", "m5.4xlarge", "c5.2xlarge", "r5.xlarge"],
    )
    facts: list[Fact] = []
    for m in machines:
        facts += fleet.machine_facts(m, "AmazonEC2", region, m.instance.name)
    # The first always-on busy machine is covered by the savings plan.
    covered = {_first_busy(machines, fleet.truth).resource_id}
    for f in facts:
        if f.resource_id in covered:
            f.line_type = "SavingsPlanCoveredUsage"
    facts += fleet.gpu_bursts(
        "AmazonSageMaker",
        f"arn:aws:sagemaker:{region}:{AWS_ACCOUNT}:training-job/",
        ("aws", "p4d.24xlarge"),
        region,
    )
    for i in range(2 * fleet.scale):
        bucket = f"arn:aws:s3:::ml-datasets-{i:03d}"
        tags = fleet.team_tags(i + 1, untagged_every=5)
        facts += fleet.daily_series(
            bucket,
            "AmazonS3",
            "Standard storage",
            "TimedStorage-ByteHrs",
            "GB-Mo",
            40000 / 30,
            0.023,
            tags,
            region,
            growth=0.004,
        )
        facts += fleet.daily_series(
            bucket,
            "AmazonS3",
            "GET requests",
            "Requests-Tier2",
            "Requests",
            3_000_000,
            0.0000004,
            tags,
            region,
            0.5,
        )
    cold = "arn:aws:s3:::ml-raw-archive"
    fleet.truth.cold_storage.append(cold)
    facts += fleet.daily_series(
        cold,
        "AmazonS3",
        "Standard storage",
        "TimedStorage-ByteHrs",
        "GB-Mo",
        120000 / 30,
        0.023,
        {"team": "data-eng", "env": "prod"},
        region,
    )
    nat = f"arn:aws:ec2:{region}:{AWS_ACCOUNT}:natgateway/nat-0f1e2d3c4b5a69788"
    nat_facts = fleet.daily_series(
        nat,
        "AmazonVPC",
        "NAT Gateway data processed",
        "NatGateway-Bytes",
        "GB",
        900,
        0.045,
        {"team": "ml-platform", "env": "prod"},
        region,
        0.6,
    )
    fleet.plant(nat_facts, "AWS", AWS_PRODUCTS["AmazonVPC"], fleet.anomaly_day(), 3, 9.0)
    facts += nat_facts
    fn = f"arn:aws:lambda:{region}:{AWS_ACCOUNT}:function:fraud-scorer"
    tags = {"team": "serving", "env": "prod", "workload": "inference", "app": "fraud-scorer"}
    facts += fleet.daily_series(
        fn, "AWSLambda", "Requests", "Request", "Requests", 4_000_000, 0.0000002, tags, region, 0.7
    )
    facts += fleet.daily_series(
        fn,
        "AWSLambda",
        "Duration",
        "Lambda-GB-Second",
        "Lambda-GB-Second",
        4_000_000 * 0.12 * 1.0,
        0.0000166667,
        tags,
        region,
        0.7,
    )
    return facts, machines


def write_aws_cur(facts: list[Fact], out: Path, fmt: str, rng: np.random.Generator) -> Path:
    """Write CUR 2.0 rows (daily granularity) as Parquet or CSV."""
    rows: list[dict[str, Any]] = []
    sp_by_day: dict[date, float] = {}

    def base(f: Fact, item_type: str) -> dict[str, Any]:
        begin, end = _interval(f.day)
        p_start, p_end = _month_bounds(f.day)
        return {
            "identity_line_item_id": uuid.UUID(
                int=int(rng.integers(0, 2**63)) << 64 | int(rng.integers(0, 2**63))
            ).hex,
            "identity_time_interval": f"{begin:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}",
            "bill_bill_type": "Anniversary",
            "bill_billing_entity": "AWS",
            "bill_payer_account_id": AWS_PAYER,
            "bill_billing_period_start_date": p_start,
            "bill_billing_period_end_date": p_end,
            "line_item_usage_account_id": AWS_ACCOUNT,
            "line_item_line_item_type": item_type,
            "line_item_usage_start_date": begin,
            "line_item_usage_end_date": end,
            "line_item_product_code": f.service,
            "line_item_usage_type": f"USE1-{f.usage_type}",
            "line_item_operation": "RunInstances" if f.service == "AmazonEC2" else f.usage_type,
            "line_item_resource_id": f.resource_id,
            "line_item_usage_amount": f.amount,
            "line_item_currency_code": "USD",
            "line_item_unblended_rate": round(f.cost / f.amount, 8) if f.amount else 0.0,
            "line_item_unblended_cost": f.cost,
            "line_item_blended_cost": f.cost,
            "line_item_line_item_description": f"{f.sku} ({f.usage_type})",
            "product_servicecode": f.service,
            "product_region_code": f.region,
            "product_instance_type": f.instance_type,
            "product_product_family": "Compute Instance" if f.instance_type else "Usage",
            "pricing_term": "OnDemand",
            "pricing_unit": f.unit,
            "pricing_public_on_demand_cost": f.cost,
            "savings_plan_savings_plan_a_r_n": "",
            "savings_plan_savings_plan_effective_cost": 0.0,
            "savings_plan_savings_plan_rate": 0.0,
            "reservation_effective_cost": 0.0,
            "resource_tags": {f"user_{k}": v for k, v in f.tags.items()},
        }

    for f in facts:
        row = base(f, f.line_type)
        if f.line_type == "SavingsPlanCoveredUsage":
            effective = round(f.cost * (1 - SP_DISCOUNT), 6)
            row.update(
                savings_plan_savings_plan_a_r_n=SP_ARN,
                savings_plan_savings_plan_effective_cost=effective,
                savings_plan_savings_plan_rate=round(effective / f.amount, 8),
                pricing_term="Savings Plan",
            )
            rows.append(row)
            neg = base(f, "SavingsPlanNegation")
            neg.update(
                line_item_unblended_cost=-f.cost,
                line_item_blended_cost=-f.cost,
                line_item_line_item_description=f"SavingsPlanNegation used by {SP_ARN}",
                savings_plan_savings_plan_a_r_n=SP_ARN,
                pricing_term="Savings Plan",
                pricing_public_on_demand_cost=0.0,
            )
            rows.append(neg)
            sp_by_day[f.day] = sp_by_day.get(f.day, 0.0) + effective
        else:
            rows.append(row)
    for d, fee in sorted(sp_by_day.items()):
        fact = Fact(
            d,
            SP_ARN,
            "ComputeSavingsPlans",
            "Savings Plan recurring fee",
            "ComputeSP:1yrNoUpfront",
            round(fee, 6),
            "Hrs",
            round(fee, 6),
            {},
            "",
        )
        row = base(fact, "SavingsPlanRecurringFee")
        row.update(
            savings_plan_savings_plan_a_r_n=SP_ARN,
            pricing_term="Savings Plan",
            savings_plan_savings_plan_effective_cost=0.0,
        )
        rows.append(row)
    ec2_by_month: dict[date, float] = {}
    for f in facts:
        if f.service == "AmazonEC2":
            first = f.day.replace(day=1)
            ec2_by_month[first] = ec2_by_month.get(first, 0.0) + f.cost
    for first, cost in sorted(ec2_by_month.items()):
        fact = Fact(
            first,
            "",
            "AmazonEC2",
            "Sales tax",
            "Tax",
            1.0,
            "",
            round(cost * 0.0625, 2),
            {},
            "us-east-1",
        )
        row = base(fact, "Tax")
        row.update(
            line_item_usage_amount=0.0,
            line_item_unblended_rate=0.0,
            pricing_public_on_demand_cost=0.0,
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    if fmt == "parquet":
        path = out / "aws-cur-00001.snappy.parquet"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        tags = pa.array(
            [list(t.items()) for t in frame["resource_tags"]],
            type=pa.map_(pa.string(), pa.string()),
        )
        table = table.set_column(
            table.schema.get_field_index("resource_tags"), "resource_tags", tags
        )
        pq.write_table(table, path, compression="snappy")
    else:
        path = out / "aws-cur-00001.csv"
        frame["resource_tags"] = [json.dumps(t) for t in frame["resource_tags"]]
        frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    return path


# ---------------------------------------------------------------------------------------- GCP

GCP_SERVICES = {
    "Compute Engine": "6F81-5844-456A",
    "Vertex AI": "C7E2-9256-1C43",
    "BigQuery": "24E6-581D-38E5",
    "Cloud Storage": "95FF-2EF5-5EA1",
}


def gcp_facts(fleet: Fleet) -> tuple[list[Fact], list[Machine]]:
    region = "us-central1"
    zone = f"//compute.googleapis.com/projects/ml-prod-123/zones/{region}-a/instances/"
    machines = fleet.machines(
        "gcp",
        lambda i: f"{zone}gke-ml-pool-{i:04d}",
        ["n2-standard-8", "n2-standard-4", "n2-standard-16", "n2-standard-4"],
    )
    facts: list[Fact] = []
    for m in machines:
        for f in fleet.machine_facts(m, "Compute Engine", region, "N2 Instance Core"):
            # GCP bills vCPU and memory as two SKUs; the split is the published N2 ratio.
            core, ram = round(f.cost * 0.77, 6), round(f.cost * 0.23, 6)
            facts.append(
                Fact(
                    f.day,
                    f.resource_id,
                    f.service,
                    "N2 Instance Core running in Americas",
                    "cores",
                    f.amount * m.instance.vcpu,
                    "hour",
                    core,
                    f.tags,
                    region,
                    f.instance_type,
                )
            )
            facts.append(
                Fact(
                    f.day,
                    f.resource_id,
                    f.service,
                    "N2 Instance Ram running in Americas",
                    "ram",
                    f.amount * m.instance.memory_gib,
                    "gibibyte hour",
                    ram,
                    f.tags,
                    region,
                    f.instance_type,
                )
            )
    facts += fleet.gpu_bursts(
        "Vertex AI",
        "//aiplatform.googleapis.com/projects/ml-prod-123/locations/us-central1/customJobs/",
        ("gcp", "a2-highgpu-1g"),
        region,
    )
    bq = fleet.daily_series(
        "//bigquery.googleapis.com/projects/ml-prod-123",
        "BigQuery",
        "Analysis",
        "TiB",
        "tebibyte",
        6.0,
        6.25,
        {"team": "data-eng", "env": "prod"},
        "US",
        weekend=0.3,
    )
    fleet.plant(bq, "Google Cloud", "BigQuery", fleet.anomaly_day(), 1, 12.0)
    facts += bq
    for i in range(fleet.scale):
        facts += fleet.daily_series(
            f"//storage.googleapis.com/projects/_/buckets/ml-features-{i}",
            "Cloud Storage",
            "Standard Storage US Multi-region",
            "storage",
            "gibibyte month",
            20000 / 30,
            0.026,
            fleet.team_tags(i, untagged_every=4),
            "US",
        )
    return facts, machines


def _sku_id(description: str) -> str:
    """A stable SKU id shaped like GCP's (``XXXX-XXXX-XXXX``)."""
    h = f"{zlib.crc32(description.encode()):08X}{zlib.crc32(description[::-1].encode()):08X}"
    return f"{h[:4]}-{h[4:8]}-{h[8:12]}"


def write_gcp(facts: list[Fact], out: Path) -> Path:
    """Write the BigQuery billing export schema as newline-delimited JSON."""
    path = out / "gcp-billing-export.jsonl"
    with path.open("w") as fh:
        for f in facts:
            begin, end = _interval(f.day)
            credits = []
            if f.service == "Compute Engine":
                credits.append(
                    {
                        "name": "Sustained use discount",
                        "amount": -round(f.cost * 0.2, 6),
                        "full_name": "Sustained Usage Discount",
                        "id": "SUSTAINED_USAGE_DISCOUNT",
                        "type": "SUSTAINED_USAGE_DISCOUNT",
                    }
                )
            row = {
                "billing_account_id": GCP_BILLING_ACCOUNT,
                "service": {"id": GCP_SERVICES[f.service], "description": f.service},
                "sku": {"id": _sku_id(f.sku), "description": f.sku},
                "usage_start_time": f"{begin:%Y-%m-%dT%H:%M:%S}Z",
                "usage_end_time": f"{end:%Y-%m-%dT%H:%M:%S}Z",
                "project": {"id": "ml-prod-123", "number": "123456789012", "name": "ml-prod"},
                "labels": [{"key": k, "value": v} for k, v in f.tags.items()],
                "system_labels": [
                    {"key": "compute.googleapis.com/machine_spec", "value": f.instance_type}
                ]
                if f.instance_type
                else [],
                "location": {
                    "location": f.region,
                    "country": "US",
                    "region": f.region,
                    "zone": f"{f.region}-a" if f.region != "US" else None,
                },
                "resource": {
                    "name": f.resource_id.rsplit("/", 1)[-1],
                    "global_name": f.resource_id,
                },
                "export_time": f"{end + timedelta(hours=6):%Y-%m-%dT%H:%M:%S}Z",
                "cost": f.cost,
                "currency": "USD",
                "currency_conversion_rate": 1.0,
                "usage": {
                    "amount": f.amount,
                    "unit": f.unit,
                    "amount_in_pricing_units": f.amount,
                    "pricing_unit": f.unit,
                },
                "credits": credits,
                "invoice": {"month": f"{f.day:%Y%m}"},
                "cost_type": "regular",
            }
            fh.write(json.dumps(row) + "\n")
    return path


# -------------------------------------------------------------------------------------- Azure

AZURE_METERS = {
    "Virtual Machines": ("Microsoft.Compute", "virtualMachines"),
    "Azure Machine Learning": ("Microsoft.MachineLearningServices", "workspaces"),
    "Storage": ("Microsoft.Storage", "storageAccounts"),
    "Log Analytics": ("Microsoft.OperationalInsights", "workspaces"),
}
RESERVATION_ID = "7c0a8f2e-1b3d-4e5f-9a8b-7c6d5e4f3a2b"
RI_DISCOUNT = 0.37  # a 1-year reserved D-series VM saves about this much


def azure_facts(fleet: Fleet) -> tuple[list[Fact], list[Machine]]:
    region = "eastus"
    rg = f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/rg-ml"
    machines = fleet.machines(
        "azure",
        lambda i: f"{rg}/providers/Microsoft.Compute/virtualMachines/vm-ml-{i:04d}",
        ["Standard_D8s_v5", "Standard_D4s_v5", "Standard_D16s_v5", "Standard_D4s_v5"],
    )
    facts: list[Fact] = []
    reserved = _first_busy(machines, fleet.truth)
    for m in machines:
        for f in fleet.machine_facts(m, "Virtual Machines", region, m.instance.name):
            if m is reserved:
                f.line_type = "Reservation"
            facts.append(f)
    facts += fleet.gpu_bursts(
        "Azure Machine Learning",
        f"{rg}/providers/Microsoft.MachineLearningServices/workspaces/mlw/jobs/",
        ("azure", "Standard_NC24ads_A100_v4"),
        region,
    )
    logs = fleet.daily_series(
        f"{rg}/providers/Microsoft.OperationalInsights/workspaces/law-ml",
        "Log Analytics",
        "Analytics Logs Data Ingestion",
        "Data Ingestion",
        "1 GB",
        25,
        2.30,
        {"team": "ml-platform", "env": "prod"},
        region,
        weekend=0.8,
    )
    fleet.plant(logs, "Microsoft", "Log Analytics", fleet.anomaly_day(), 2, 8.0)
    facts += logs
    facts += fleet.daily_series(
        f"{rg}/providers/Microsoft.Storage/storageAccounts/stmldata",
        "Storage",
        "Hot LRS Data Stored",
        "Data Stored",
        "1 GB/Month",
        30000 / 30,
        0.0184,
        {},
        region,
    )
    fleet.truth.untagged.append(f"{rg}/providers/Microsoft.Storage/storageAccounts/stmldata")
    return facts, machines


def write_azure(facts: list[Fact], out: Path) -> tuple[Path, Path]:
    """Write the actual-cost and the amortized-cost exports (MCA column names)."""
    actual: list[dict[str, Any]] = []
    amortized: list[dict[str, Any]] = []
    ri_months: dict[date, float] = {}
    for f in facts:
        p_start, p_end = _month_bounds(f.day)
        category, sub = (
            (f.service, f.instance_type.split("_")[1] + " Series")
            if f.instance_type
            else (f.service, f.sku)
        )
        ns = AZURE_METERS[f.service][0]
        row = {
            "BillingAccountId": AZURE_BILLING_ACCOUNT,
            "BillingAccountName": "Contoso ML",
            "BillingPeriodStartDate": f"{p_start:%m/%d/%Y}",
            "BillingPeriodEndDate": f"{p_end - timedelta(days=1):%m/%d/%Y}",
            "BillingProfileName": "Contoso ML Billing",
            "InvoiceSectionName": "ML Platform",
            "SubscriptionId": AZURE_SUBSCRIPTION,
            "SubscriptionName": "ml-prod",
            "Date": f"{f.day:%m/%d/%Y}",
            "ResourceGroup": "rg-ml",
            "ResourceId": f.resource_id,
            "ResourceLocation": f.region,
            "ConsumedService": ns,
            "MeterCategory": category,
            "MeterSubCategory": sub,
            "MeterName": f.sku
            if not f.instance_type
            else f.instance_type.split("_", 1)[1].replace("_", " "),
            "MeterId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{f.service}/{f.sku}")),
            "ProductName": f"{f.service} {f.sku}",
            "Quantity": f.amount,
            "UnitOfMeasure": "1 Hour" if f.unit == "Hrs" else f.unit,
            "ChargeType": "Usage",
            "PricingModel": "OnDemand",
            "BenefitId": "",
            "UnitPrice": round(f.cost / f.amount, 6) if f.amount else 0.0,
            "PayGPrice": round(f.cost / f.amount, 6) if f.amount else 0.0,
            "EffectivePrice": round(f.cost / f.amount, 6) if f.amount else 0.0,
            "CostInBillingCurrency": f.cost,
            "BillingCurrency": "USD",
            "Frequency": "UsageBased",
            "PublisherType": "Azure",
            "Tags": json.dumps(f.tags)[1:-1] if f.tags else "",  # Azure writes no outer braces
            "AdditionalInfo": json.dumps({"ServiceType": f.instance_type})
            if f.instance_type
            else "",
        }
        if f.line_type == "Reservation":
            amortized_cost = round(f.cost * (1 - RI_DISCOUNT), 6)
            ri = dict(
                row,
                PricingModel="Reservation",
                BenefitId=RESERVATION_ID,
                EffectivePrice=0.0,
                CostInBillingCurrency=0.0,
            )
            actual.append(ri)
            amortized.append(
                dict(
                    ri,
                    CostInBillingCurrency=amortized_cost,
                    EffectivePrice=round(amortized_cost / f.amount, 6),
                )
            )
            first = f.day.replace(day=1)  # the reservation is billed for the whole month
            ri_months[first] = max(ri_months.get(first, 0.0), amortized_cost)
            continue
        actual.append(row)
        amortized.append(dict(row))
    for first, daily in sorted(ri_months.items()):
        p_start, p_end = _month_bounds(first)
        days = (p_end - p_start).days
        purchase = dict(
            actual[0],
            Date=f"{first:%m/%d/%Y}",
            ResourceId="",
            BillingPeriodStartDate=f"{p_start:%m/%d/%Y}",
            BillingPeriodEndDate=f"{p_end - timedelta(days=1):%m/%d/%Y}",
            MeterCategory="Virtual Machines",
            MeterSubCategory="",
            MeterName="Reserved VM Instance, 1 Year",
            ChargeType="Purchase",
            PricingModel="Reservation",
            BenefitId=RESERVATION_ID,
            Quantity=1.0,
            UnitOfMeasure="1 Month",
            Frequency="Recurring",
            Tags="",
            AdditionalInfo="",
            CostInBillingCurrency=round(daily * days, 2),
        )
        actual.append(purchase)
    a_path, m_path = out / "azure-actual-cost.csv", out / "azure-amortized-cost.csv"
    pd.DataFrame(actual).to_csv(a_path, index=False)
    pd.DataFrame(amortized).to_csv(m_path, index=False)
    return a_path, m_path


def generate(
    out: Path,
    *,
    start: date = date(2026, 10, 1),
    days: int = 61,
    seed: int = 7,
    scale: int = 1,
    anomalies: bool = True,
    aws_format: str = "parquet",
    providers: tuple[str, ...] = ("aws", "gcp", "azure"),
) -> dict[str, Any]:
    """Write the sample exports of ``days`` days from ``start`` into ``out``.

    Returns:
        A manifest: the files written (by provider) and the planted truth.
    """
    if aws_format not in ("parquet", "csv"):
        raise CostlensError(f"--aws-format must be parquet or csv, got {aws_format!r}")
    unknown = set(providers) - {"aws", "gcp", "azure"}
    if unknown:
        raise CostlensError(f"unknown provider(s) {sorted(unknown)}; use aws, gcp, azure")
    out.mkdir(parents=True, exist_ok=True)
    fleet = Fleet(start, days, seed, scale)
    fleet.planting = anomalies
    files: dict[str, list[str]] = {}
    machines: list[tuple[str, Machine]] = []
    if "aws" in providers:
        facts, ms = aws_facts(fleet)
        machines += [("aws", m) for m in ms]
        files["aws"] = [str(write_aws_cur(facts, out, aws_format, fleet.rng))]
    if "gcp" in providers:
        facts, ms = gcp_facts(fleet)
        machines += [("gcp", m) for m in ms]
        files["gcp"] = [str(write_gcp(facts, out))]
    if "azure" in providers:
        facts, ms = azure_facts(fleet)
        machines += [("azure", m) for m in ms]
        files["azure"] = [str(p) for p in write_azure(facts, out)]
    util = out / "utilization.csv"
    fleet.utilization(machines).to_csv(util, index=False)
    manifest = {
        "files": files,
        "utilization": str(util),
        "truth": fleet.truth.as_dict(),
        "start": start.isoformat(),
        "days": days,
        "seed": seed,
    }
    (out / "truth.json").write_text(json.dumps(manifest, indent=2))
    return manifest
