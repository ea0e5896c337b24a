"""Read the clouds' billing exports and load them into the store in FOCUS columns.

Every reader keeps each cloud's own column names and types and maps them the way the clouds'
own FOCUS conversions do. Nothing is silently dropped: a file without a required column is
refused whole (nothing loaded, the missing columns named); a row with a value that is not a
number or a date, a currency other than the store's, or a line item already loaded is counted
and kept in the ``rejections`` table with its reason.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from costlens.errors import CostlensError
from costlens.store import FOCUS_COLUMNS, Store

NONE = np.array(None, dtype=object)  # a missing FOCUS value inside np.where
FORMATS = ("aws-cur", "gcp-billing", "azure-actual", "azure-amortized")

SERVICE_CATEGORY = {
    "Amazon Elastic Compute Cloud": "Compute",
    "AWS Lambda": "Compute",
    "Savings Plans for AWS Compute usage": "Compute",
    "Amazon SageMaker": "AI and Machine Learning",
    "Amazon Simple Storage Service": "Storage",
    "Amazon Virtual Private Cloud": "Networking",
    "Compute Engine": "Compute",
    "Vertex AI": "AI and Machine Learning",
    "BigQuery": "Analytics",
    "Cloud Storage": "Storage",
    "Virtual Machines": "Compute",
    "Azure Machine Learning": "AI and Machine Learning",
    "Storage": "Storage",
    "Log Analytics": "Management and Governance",
}
AWS_SERVICE_NAMES = {
    "AmazonEC2": "Amazon Elastic Compute Cloud",
    "AmazonSageMaker": "Amazon SageMaker",
    "AmazonS3": "Amazon Simple Storage Service",
    "AmazonVPC": "Amazon Virtual Private Cloud",
    "AWSLambda": "AWS Lambda",
    "ComputeSavingsPlans": "Savings Plans for AWS Compute usage",
}

AWS_REQUIRED = (
    "identity_line_item_id",
    "identity_time_interval",
    "bill_payer_account_id",
    "line_item_usage_account_id",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_product_code",
    "line_item_resource_id",
    "line_item_usage_amount",
    "line_item_unblended_cost",
    "line_item_currency_code",
)
GCP_REQUIRED = (
    "billing_account_id",
    "service.description",
    "sku.id",
    "usage_start_time",
    "usage_end_time",
    "cost",
    "currency",
)
AZURE_REQUIRED = (
    "Date",
    "SubscriptionId",
    "ResourceId",
    "MeterCategory",
    "ChargeType",
    "CostInBillingCurrency",
    "BillingCurrency",
)


@dataclass
class IngestResult:
    """What one file contributed."""

    source: str
    format: str
    rows_read: int
    rows_loaded: int
    rows_updated: int
    rows_rejected: int
    rows_duplicate: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Frame:
    """A raw export being turned into FOCUS rows, with a reason per rejected row."""

    def __init__(self, raw: pd.DataFrame, source: str, provider: str) -> None:
        self.raw = raw.reset_index(drop=True)
        self.source = source
        self.provider = provider
        self.out = pd.DataFrame(index=self.raw.index)
        self.reason = pd.Series("", index=self.raw.index, dtype=object)

    def col(self, name: str, default: Any = "") -> pd.Series:
        if name in self.raw.columns:
            return self.raw[name]
        return pd.Series(default, index=self.raw.index)

    def text(self, name: str, default: str = "") -> pd.Series:
        """A column as stripped strings, missing values as ``default``.

        Billing columns repeat a few values millions of times: each distinct value is cleaned
        once (``pd.factorize``) and the result spread back.
        """
        s = self.col(name, default)
        codes, uniques = pd.factorize(s)
        cleaned = [str(u).strip() for u in uniques] + [default]  # code -1 (missing) -> default
        return pd.Series(np.array(cleaned, dtype=object)[codes], index=s.index)

    def reject(
        self, mask: pd.Series, why: str | Callable[[pd.Series], pd.Series], raw: Any = None
    ) -> None:
        """Give the rows in ``mask`` a reason (the first reason found is kept).

        ``why`` is a text, or a function of the offending values (``raw[mask]``) that returns
        one text per row: messages are only built for the rows that need one.
        """
        mask = mask & (self.reason == "")
        if not mask.any():
            return
        if callable(why):
            self.reason[mask] = why(raw[mask]).to_numpy()
        else:
            self.reason[mask] = why

    def number(self, name: str, label: str, default: float | None = None) -> pd.Series:
        """A numeric column; a value that is not a finite number rejects its row."""
        raw = self.col(name, default)
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = ~np.isfinite(values)
        if default is not None:
            empty = raw.isna() | (raw.astype(str).str.strip() == "")
            values = values.where(~empty, default)
            bad &= ~empty
        self.reject(
            bad,
            lambda v: (
                label + " " + v.astype(str).str.slice(0, 40).map(repr) + " is not a finite number"
            ),
            raw,
        )
        return values.where(~bad, 0.0)

    def timestamp(self, name: str, label: str, fmt: str | None = None) -> pd.Series:
        """A date/time column (UTC, stored naive); an unparseable value rejects its row."""
        raw = self.col(name, None)
        values = pd.to_datetime(raw, errors="coerce", utc=True, format=fmt)
        bad = values.isna()
        self.reject(
            bad,
            lambda v: label + " " + v.astype(str).str.slice(0, 40).map(repr) + " is not a date",
            raw,
        )
        return values.dt.tz_convert(None)


def _require(columns: list[str], required: tuple[str, ...], source: str, fmt: str) -> None:
    missing = [c for c in required if c not in columns]
    if missing:
        raise CostlensError(
            f"{source}: not a complete {fmt} export, missing column(s) {', '.join(missing)}"
        )


def _sha(parts: pd.Series) -> pd.Series:
    return parts.map(lambda s: hashlib.sha1(s.encode(), usedforsecurity=False).hexdigest())


def _tags_json(values: pd.Series, strip_prefix: str = "") -> pd.Series:
    def one(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "{}"
        if isinstance(v, str):
            text = v.strip()
            if not text:
                return "{}"
            if not text.startswith("{"):
                text = "{" + text + "}"  # Azure writes "k": "v" without braces
            try:
                v = json.loads(text)
            except json.JSONDecodeError:
                return "{}"
        items: list[tuple[Any, ...]]
        if isinstance(v, dict):
            items = list(v.items())
        else:  # a Parquet map arrives as a list of (key, value) pairs, GCP as [{key, value}]
            items = [(x["key"], x["value"]) if isinstance(x, dict) else tuple(x) for x in v]
        return json.dumps(
            {
                str(k).removeprefix(strip_prefix): str(val)
                for k, val in items
                if val is not None and str(val) != ""
            },
            sort_keys=True,
        )

    cache: dict[str, str] = {}

    def cached(v: Any) -> str:
        key = v if isinstance(v, str) else repr(v)  # a few distinct tag sets, millions of rows
        if key not in cache:
            cache[key] = one(v)
        return cache[key]

    return values.map(cached)


# ------------------------------------------------------------------------------------ readers


def read_table(path: Path) -> pd.DataFrame:
    """Parquet, CSV (optionally gzipped) or newline-delimited JSON, by extension."""
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            return pd.read_parquet(path)
        if name.endswith((".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz")):
            opener = __import__("gzip").open if name.endswith(".gz") else open
            with opener(path, "rt") as fh:
                records = [json.loads(line) for line in fh if line.strip()]
            frame = pd.json_normalize(records, max_level=1)
            frame["__raw__"] = [json.dumps(r, sort_keys=True) for r in records]
            return frame
        if name.endswith((".csv", ".csv.gz")):
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    except (ValueError, OSError, json.JSONDecodeError) as exc:
        raise CostlensError(f"{path}: cannot read it: {str(exc).splitlines()[0]}") from exc
    raise CostlensError(f"{path}: unknown file type (use .parquet, .csv, .csv.gz or .jsonl)")


def detect_format(path: Path, columns: list[str]) -> str:
    if "identity_line_item_id" in columns or "line_item_unblended_cost" in columns:
        return "aws-cur"
    if "billing_account_id" in columns or "service.description" in columns:
        return "gcp-billing"
    if "CostInBillingCurrency" in columns or "MeterCategory" in columns:
        return "azure-amortized" if "amortized" in path.name.lower() else "azure-actual"
    raise CostlensError(
        f"{path}: not a billing export costlens knows (AWS CUR 2.0, GCP billing export, Azure "
        "cost export); give --format if it is one"
    )


def from_aws(raw: pd.DataFrame, source: str) -> Frame:
    _require(list(raw.columns), AWS_REQUIRED, source, "AWS CUR 2.0")
    f = Frame(raw, source, "AWS")
    o = f.out
    item = f.text("line_item_line_item_type")
    start = f.timestamp("line_item_usage_start_date", "line_item_usage_start_date")
    end = f.timestamp("line_item_usage_end_date", "line_item_usage_end_date")
    unblended = f.number("line_item_unblended_cost", "line_item_unblended_cost")
    sp_eff = f.number("savings_plan_savings_plan_effective_cost", "savings plan cost", 0.0)
    ri_eff = f.number("reservation_effective_cost", "reservation_effective_cost", 0.0)
    listed = f.number("pricing_public_on_demand_cost", "pricing_public_on_demand_cost", 0.0)
    o["BillingAccountId"] = f.text("bill_payer_account_id")
    o["SubAccountId"] = f.text("line_item_usage_account_id")
    o["SubAccountName"] = f.text("line_item_usage_account_name")
    o["ProviderName"] = "AWS"
    o["InvoiceIssuerName"] = f.text("bill_billing_entity", "AWS").replace("", "AWS")
    o["BillingPeriodStart"] = pd.to_datetime(
        f.col("bill_billing_period_start_date", None), errors="coerce", utc=True
    ).dt.tz_convert(None)
    o["BillingPeriodEnd"] = pd.to_datetime(
        f.col("bill_billing_period_end_date", None), errors="coerce", utc=True
    ).dt.tz_convert(None)
    o["ChargePeriodStart"], o["ChargePeriodEnd"] = start, end
    category = item.map(
        {
            "Usage": "Usage",
            "SavingsPlanCoveredUsage": "Usage",
            "DiscountedUsage": "Usage",
            "SavingsPlanNegation": "Usage",
            "SavingsPlanRecurringFee": "Purchase",
            "SavingsPlanUpfrontFee": "Purchase",
            "RIFee": "Purchase",
            "Fee": "Purchase",
            "Tax": "Tax",
            "Credit": "Credit",
            "Refund": "Credit",
            "BundledDiscount": "Credit",
            "Discount": "Credit",
        }
    )
    f.reject(
        category.isna(), lambda v: "line_item_line_item_type " + v.map(repr) + " is unknown", item
    )
    o["ChargeCategory"] = category
    o["ChargeDescription"] = f.text("line_item_line_item_description")
    committed = item.isin(["SavingsPlanCoveredUsage", "DiscountedUsage", "SavingsPlanNegation"])
    term = f.text("pricing_term")
    o["PricingCategory"] = np.where(
        committed,
        "Committed",
        np.where(category == "Usage", np.where(term == "Spot", "Dynamic", "Standard"), NONE),
    )
    o["CommitmentDiscountId"] = f.text("savings_plan_savings_plan_a_r_n").replace("", None)
    code = f.text("line_item_product_code")
    o["ServiceName"] = code.map(lambda c: AWS_SERVICE_NAMES.get(c, c))
    o["ResourceId"] = f.text("line_item_resource_id").replace("", None)
    o["ResourceName"] = o["ResourceId"].str.rsplit("/", n=1).str[-1]
    o["RegionId"] = f.text("product_region_code").replace("", None)
    o["SkuId"] = f.text("product_sku").replace("", None)
    o["ConsumedQuantity"] = f.number("line_item_usage_amount", "line_item_usage_amount")
    o["ConsumedUnit"] = f.text("pricing_unit").replace("", None)
    o["ListCost"] = listed
    o["BilledCost"] = unblended
    o["EffectiveCost"] = np.select(
        [
            item == "SavingsPlanCoveredUsage",
            item == "DiscountedUsage",
            item.isin(["SavingsPlanNegation", "SavingsPlanRecurringFee", "RIFee"]),
        ],
        [sp_eff, ri_eff, 0.0],
        unblended,
    )
    o["BillingCurrency"] = f.text("line_item_currency_code")
    o["Tags"] = _tags_json(f.col("resource_tags", None), strip_prefix="user_")
    o["x_InstanceType"] = f.text("product_instance_type").replace("", None)
    o["x_UsageType"] = f.text("line_item_usage_type")
    o["x_LineItemKey"] = (
        "aws|" + f.text("identity_line_item_id") + "|" + f.text("identity_time_interval")
    )
    o["x_MatchKey"] = None
    return f


def from_gcp(raw: pd.DataFrame, source: str) -> Frame:
    _require(list(raw.columns), GCP_REQUIRED, source, "GCP billing")
    f = Frame(raw, source, "Google Cloud")
    o = f.out
    cost = f.number("cost", "cost")

    def credit_sum(v: Any) -> float:
        if isinstance(v, str):
            v = json.loads(v) if v.strip() else []
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return 0.0
        return float(sum(float(c.get("amount", 0.0)) for c in v))

    try:
        credits = f.col("credits", None).map(credit_sum)
    except (ValueError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise CostlensError(f"{source}: the credits column is malformed: {exc}") from exc
    credit_types = f.col("credits", None).map(lambda v: json.dumps(v) if v is not None else "")
    cost_type = f.text("cost_type", "regular").replace("", "regular")
    o["BillingAccountId"] = f.text("billing_account_id")
    o["SubAccountId"] = f.text("project.id").replace("", None)
    o["SubAccountName"] = f.text("project.name").replace("", None)
    o["ProviderName"] = "Google Cloud"
    o["InvoiceIssuerName"] = "Google Cloud"
    month = pd.to_datetime(f.text("invoice.month"), format="%Y%m", errors="coerce")
    o["BillingPeriodStart"] = month
    o["BillingPeriodEnd"] = month + pd.offsets.MonthBegin(1)
    o["ChargePeriodStart"] = f.timestamp("usage_start_time", "usage_start_time")
    o["ChargePeriodEnd"] = f.timestamp("usage_end_time", "usage_end_time")
    category = cost_type.map(
        {
            "regular": "Usage",
            "tax": "Tax",
            "adjustment": "Adjustment",
            "rounding_error": "Adjustment",
        }
    )
    f.reject(category.isna(), lambda v: "cost_type " + v.map(repr) + " is unknown", cost_type)
    o["ChargeCategory"] = category
    o["ChargeDescription"] = f.text("sku.description")
    committed = credit_types.str.contains("COMMITTED_USAGE_DISCOUNT", regex=False)
    o["PricingCategory"] = np.where(
        category == "Usage", np.where(committed, "Committed", "Standard"), NONE
    )
    o["CommitmentDiscountId"] = None
    o["ServiceName"] = f.text("service.description")
    o["ResourceId"] = f.text("resource.global_name").replace("", None)
    o["ResourceName"] = f.text("resource.name").replace("", None)
    o["RegionId"] = f.text("location.region").replace("", None)
    o["SkuId"] = f.text("sku.id")
    o["ConsumedQuantity"] = f.number("usage.amount", "usage.amount", 0.0)
    o["ConsumedUnit"] = f.text("usage.unit").replace("", None)
    # Google's FOCUS view: the invoice (and the effective cost) is cost plus the credits.
    o["ListCost"] = cost
    o["BilledCost"] = cost + credits
    o["EffectiveCost"] = cost + credits
    o["BillingCurrency"] = f.text("currency")
    o["Tags"] = _tags_json(f.col("labels", None))
    o["x_InstanceType"] = _tags_json(f.col("system_labels", None)).map(
        lambda t: json.loads(t).get("compute.googleapis.com/machine_spec")
    )
    o["x_UsageType"] = f.text("usage.unit")
    if "__raw__" in raw.columns:
        identity = raw["__raw__"].astype(str)
    else:
        identity = raw.astype(str).agg("\x1f".join, axis=1)
    o["x_LineItemKey"] = "gcp|" + _sha(identity)
    o["x_MatchKey"] = None
    return f


def _azure_match(f: Frame) -> pd.Series:
    parts = ["Date", "ResourceId", "MeterId", "ChargeType", "PricingModel", "BenefitId", "Quantity"]
    return "azure|" + _sha(pd.concat([f.text(p) for p in parts], axis=1).agg("\x1f".join, axis=1))


def from_azure(raw: pd.DataFrame, source: str) -> Frame:
    _require(list(raw.columns), AZURE_REQUIRED, source, "Azure cost")
    f = Frame(raw, source, "Microsoft")
    o = f.out
    cost = f.number("CostInBillingCurrency", "CostInBillingCurrency")
    quantity = f.number("Quantity", "Quantity", 0.0)
    payg = f.number("PayGPrice", "PayGPrice", 0.0)
    day = f.timestamp("Date", "Date", fmt="%m/%d/%Y")
    charge = f.text("ChargeType")
    pricing = f.text("PricingModel", "OnDemand")
    o["BillingAccountId"] = f.text("BillingAccountId")
    o["SubAccountId"] = f.text("SubscriptionId")
    o["SubAccountName"] = f.text("SubscriptionName").replace("", None)
    o["ProviderName"] = "Microsoft"
    o["InvoiceIssuerName"] = "Microsoft"
    o["BillingPeriodStart"] = pd.to_datetime(
        f.col("BillingPeriodStartDate", None), format="%m/%d/%Y", errors="coerce"
    )
    o["BillingPeriodEnd"] = pd.to_datetime(
        f.col("BillingPeriodEndDate", None), format="%m/%d/%Y", errors="coerce"
    ) + pd.Timedelta(days=1)
    o["ChargePeriodStart"] = day
    o["ChargePeriodEnd"] = day + pd.Timedelta(days=1)
    category = charge.map(
        {
            "Usage": "Usage",
            "UnusedReservation": "Usage",
            "UnusedSavingsPlan": "Usage",
            "Purchase": "Purchase",
            "Refund": "Credit",
            "Tax": "Tax",
            "RoundingAdjustment": "Adjustment",
        }
    )
    f.reject(category.isna(), lambda v: "ChargeType " + v.map(repr) + " is unknown", charge)
    o["ChargeCategory"] = category
    o["ChargeDescription"] = f.text("ProductName")
    o["PricingCategory"] = np.where(
        category == "Usage",
        pricing.map(
            {
                "OnDemand": "Standard",
                "Reservation": "Committed",
                "SavingsPlan": "Committed",
                "Spot": "Dynamic",
            }
        ).fillna("Other"),
        None,
    )
    benefit = f.text("BenefitId")
    if "ReservationId" in raw.columns:  # the EA schema's name
        benefit = benefit.where(benefit != "", f.text("ReservationId"))
    o["CommitmentDiscountId"] = benefit.replace("", None)
    o["ServiceName"] = f.text("MeterCategory")
    o["ResourceId"] = f.text("ResourceId").replace("", None)
    o["ResourceName"] = o["ResourceId"].str.rsplit("/", n=1).str[-1]
    o["RegionId"] = f.text("ResourceLocation").replace("", None)
    o["SkuId"] = f.text("MeterId").replace("", None)
    o["ConsumedQuantity"] = quantity
    o["ConsumedUnit"] = f.text("UnitOfMeasure").replace("", None)
    o["ListCost"] = payg * quantity
    o["BilledCost"] = cost
    o["EffectiveCost"] = cost  # refined by the amortized export (see load_amortized)
    o["BillingCurrency"] = f.text("BillingCurrency")
    o["Tags"] = _tags_json(f.col("Tags", None))
    info = f.text("AdditionalInfo")
    o["x_InstanceType"] = info.str.extract(r'"ServiceType"\s*:\s*"([^"]+)"')[0]
    o["x_UsageType"] = f.text("MeterName")
    o["x_LineItemKey"] = "azure|" + _sha(raw.astype(str).agg("\x1f".join, axis=1))
    o["x_MatchKey"] = _azure_match(f)
    return f


READERS: dict[str, Callable[[pd.DataFrame, str], Frame]] = {
    "aws-cur": from_aws,
    "gcp-billing": from_gcp,
    "azure-actual": from_azure,
    "azure-amortized": from_azure,
}


# ------------------------------------------------------------------------------------ loading


def _raw_json(raw: pd.DataFrame, index: pd.Index) -> list[str]:
    sample = raw.loc[index]
    if "__raw__" in sample.columns:
        return [s[:2000] for s in sample["__raw__"].astype(str)]
    return [
        json.dumps({k: str(v) for k, v in r.items()})[:2000]
        for r in sample.to_dict(orient="records")
    ]


def _finish(f: Frame, store: Store, currency: str) -> None:
    """Checks every format shares: currency, period order, duplicates."""
    o = f.out
    o["ServiceCategory"] = o["ServiceName"].map(SERVICE_CATEGORY).fillna("Other")
    other = o["BillingCurrency"] != currency
    f.reject(
        other,
        lambda v: "currency " + v.map(repr) + f" is not the store's {currency}",
        o["BillingCurrency"],
    )
    backwards = o["ChargePeriodEnd"] < o["ChargePeriodStart"]
    f.reject(backwards.fillna(False), "ChargePeriodEnd is before ChargePeriodStart")
    dup_in_file = o["x_LineItemKey"].duplicated(keep="first")
    if dup_in_file.any():
        first_row = o.reset_index().groupby("x_LineItemKey")["index"].transform("min")
        f.reject(
            dup_in_file,
            lambda v: "duplicate line item (same as row " + (v + 1).astype(str) + " of this file)",
            first_row,
        )


def _record_rejections(store: Store, f: Frame, fmt: str) -> int:
    bad = f.reason != ""
    if not bad.any():
        return 0
    # The raw row is kept for the rows a person must fix; a duplicate's row is already stored.
    fixable = bad & ~f.reason.str.startswith("duplicate line item")
    raw = pd.Series(None, index=f.raw.index, dtype=object)
    if fixable.any():
        raw[fixable] = _raw_json(f.raw, f.raw.index[fixable])
    rows = pd.DataFrame(
        {
            "source": f.source,
            "row": f.raw.index[bad] + 1,
            "provider": f.provider,
            "reason": f.reason[bad].to_numpy(),
            "raw": raw[bad].to_numpy(),
        }
    )
    store.con.register("rejected_rows", rows)
    try:
        store.con.execute(
            'INSERT INTO rejections (source, "row", provider, reason, raw) '
            'SELECT source, "row", provider, reason, raw FROM rejected_rows'
        )
    finally:
        store.con.unregister("rejected_rows")
    return int(bad.sum())


def load_frame(store: Store, f: Frame, fmt: str, sha: str, currency: str) -> IngestResult:
    """Validate, dedupe against the store and insert, in one transaction."""
    _finish(f, store, currency)
    o = f.out
    o["x_SourceFile"] = f.source
    o["x_SourceRow"] = o.index + 1
    cols = list(FOCUS_COLUMNS)
    store.con.execute("BEGIN TRANSACTION")
    try:
        ok = f.reason == ""
        updated = 0
        if fmt != "azure-amortized":  # its rows refine stored ones, they are not new items
            staged = o.loc[ok, ["x_LineItemKey"]]
            store.con.register("staged", staged)
            try:
                known = set(
                    store.con.execute(
                        "SELECT s.x_LineItemKey FROM staged s "
                        "SEMI JOIN focus f USING (x_LineItemKey)"
                    )
                    .fetchnumpy()["x_LineItemKey"]
                    .tolist()
                )
            finally:
                store.con.unregister("staged")
            f.reject(
                o["x_LineItemKey"].isin(known) & ok, "duplicate line item (already in the store)"
            )
        if fmt == "azure-amortized":
            updated = _apply_amortized(store, f)
        else:
            fresh = o.loc[f.reason == "", cols]
            store.con.register("fresh", fresh)
            try:
                quoted = ", ".join(f'"{c}"' for c in cols)
                store.con.execute(f"INSERT INTO focus ({quoted}) SELECT {quoted} FROM fresh")
            finally:
                store.con.unregister("fresh")
        loaded = 0 if fmt == "azure-amortized" else int((f.reason == "").sum())
        rejected = _record_rejections(store, f, fmt)
        duplicates = int(f.reason.str.startswith("duplicate line item").sum())
        result = IngestResult(
            f.source, fmt, len(o), loaded, updated, rejected - duplicates, duplicates
        )
        store.con.execute(
            "INSERT INTO ingests (source, format, sha256, rows_read, rows_loaded, rows_updated,"
            " rows_rejected, rows_duplicate) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                f.source,
                fmt,
                sha,
                result.rows_read,
                result.rows_loaded,
                result.rows_updated,
                result.rows_rejected,
                result.rows_duplicate,
            ],
        )
        store.con.execute("COMMIT")
    except BaseException:
        store.con.execute("ROLLBACK")
        raise
    return result


def _apply_amortized(store: Store, f: Frame) -> int:
    """The amortized export sets EffectiveCost of the actual rows it matches.

    Reservation purchases it amortizes get EffectiveCost 0 (their cost now sits on the usage
    rows). An amortized row without an actual row to match is rejected: ingest the actual-cost
    export of the same period first.
    """
    usage = (f.reason == "") & (f.out["ChargeCategory"] == "Usage")
    f.reject(
        (f.reason == "") & ~usage,
        "not a usage row (the amortized export only refines the effective cost of usage rows)",
    )
    rows = pd.DataFrame(
        {
            "x_MatchKey": f.out.loc[usage, "x_MatchKey"],
            "EffectiveCost": f.out.loc[usage, "EffectiveCost"],
        }
    )
    store.con.register("amortized", rows)
    try:
        matched = set(
            store.con.execute(
                "SELECT a.x_MatchKey FROM amortized a SEMI JOIN focus f USING (x_MatchKey)"
            )
            .fetchnumpy()["x_MatchKey"]
            .tolist()
        )
        store.con.execute(
            "UPDATE focus SET EffectiveCost = a.EffectiveCost FROM amortized a "
            "WHERE focus.x_MatchKey = a.x_MatchKey"
        )
        store.con.execute(
            "UPDATE focus SET EffectiveCost = 0 WHERE ProviderName = 'Microsoft' "
            "AND ChargeCategory = 'Purchase' AND CommitmentDiscountId IN (SELECT DISTINCT "
            "CommitmentDiscountId FROM focus WHERE x_MatchKey IN (SELECT x_MatchKey FROM "
            "amortized) AND CommitmentDiscountId IS NOT NULL)"
        )
    finally:
        store.con.unregister("amortized")
    unmatched = usage & ~f.out["x_MatchKey"].isin(matched)
    f.reject(unmatched, "no actual-cost row to match; ingest the actual-cost export first")
    return int((usage & ~unmatched).sum())


@contextmanager
def _local_copies(source: str) -> Iterator[list[tuple[str, Path]]]:
    """Local files for a path, a folder or an ``s3://bucket/prefix`` (boto3; the endpoint comes
    from ``AWS_ENDPOINT_URL_S3`` as boto3 itself reads it)."""
    if not source.startswith("s3://"):
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _is_export(p))
            if not files:
                raise CostlensError(f"{source}: no export files in this folder")
            yield [(str(p), p) for p in files]
        elif path.is_file():
            yield [(str(path), path)]
        else:
            raise CostlensError(f"{source}: no such file or folder")
        return
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, prefix = source[5:].partition("/")
    if not bucket:
        raise CostlensError(f"{source}: no bucket in the S3 URL")
    client = boto3.client("s3")
    with tempfile.TemporaryDirectory(prefix="costlens-s3-") as tmp:
        out: list[tuple[str, Path]] = []
        try:
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            ):
                for obj in page.get("Contents", []):
                    key = obj["Key"]
                    if not _is_export(Path(key)):
                        continue
                    local = Path(tmp) / f"{len(out):05d}-{Path(key).name}"
                    client.download_file(bucket, key, str(local))
                    out.append((f"s3://{bucket}/{key}", local))
        except (BotoCoreError, ClientError) as exc:
            raise CostlensError(f"{source}: {exc}") from exc
        if not out:
            raise CostlensError(f"{source}: no export files under this prefix")
        yield out


def _is_export(path: Path) -> bool:
    return (
        path.name.lower().endswith(
            (".parquet", ".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".json.gz")
        )
        and path.name != "utilization.csv"
    )


def ingest(
    store: Store,
    source: str,
    *,
    fmt: str = "auto",
    currency: str = "USD",
    on_file: Callable[[str], None] | None = None,
) -> list[IngestResult]:
    """Load every export file of ``source`` (a file, a folder or an s3:// prefix).

    Azure actual-cost files are loaded before amortized ones, whatever their order.
    """
    if fmt != "auto" and fmt not in FORMATS:
        raise CostlensError(f"unknown format {fmt!r}; use auto or one of {', '.join(FORMATS)}")
    results = []
    store_currency = store.currency(currency)
    with _local_copies(source) as files:
        planned = []
        for name, path in files:
            raw = read_table(path)
            if raw.empty:
                raise CostlensError(f"{name}: the file has no rows")
            kind = detect_format(path, list(raw.columns)) if fmt == "auto" else fmt
            planned.append((kind == "azure-amortized", name, path, raw, kind))
        for _, name, path, raw, kind in sorted(planned, key=lambda p: (p[0], p[1])):
            if on_file:
                on_file(name)
            frame = READERS[kind](raw, name)
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            results.append(load_frame(store, frame, kind, sha, store_currency))
    return results


def ingest_utilization(store: Store, path: Path) -> int:
    """Load a utilization CSV (provider, resource_id, instance_type, date, cpu_p95, mem_p95,
    gpu_p95); rows already there for the same machine and day are replaced."""
    raw = read_table(path)
    need = ("provider", "resource_id", "instance_type", "date", "cpu_p95", "mem_p95")
    _require(list(raw.columns), need, str(path), "utilization")
    frame = pd.DataFrame(
        {
            "provider": raw["provider"].astype(str),
            "resource_id": raw["resource_id"].astype(str),
            "instance_type": raw["instance_type"].astype(str),
            "date": pd.to_datetime(raw["date"], errors="coerce").dt.date,
            "cpu_p95": pd.to_numeric(raw["cpu_p95"], errors="coerce"),
            "mem_p95": pd.to_numeric(raw["mem_p95"], errors="coerce"),
            "gpu_p95": pd.to_numeric(raw.get("gpu_p95", pd.Series(dtype=float)), errors="coerce"),
        }
    )
    bad = frame["date"].isna() | ~np.isfinite(frame["cpu_p95"]) | ~np.isfinite(frame["mem_p95"])
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise CostlensError(
            f"{path}:{first}: {int(bad.sum())} row(s) with a bad date or a "
            "non-numeric cpu_p95/mem_p95; nothing loaded"
        )
    store.con.register("util", frame)
    try:
        store.con.execute("BEGIN TRANSACTION")
        store.con.execute(
            "DELETE FROM utilization u USING util n WHERE u.resource_id = "
            "n.resource_id AND u.date = n.date"
        )
        store.con.execute("INSERT INTO utilization SELECT * FROM util")
        store.con.execute("COMMIT")
    finally:
        store.con.unregister("util")
    return len(frame)
