"""The analytical store: one DuckDB file holding every cost row in FOCUS columns.

Tables:

- ``focus``: one row per line item, FOCUS 1.1 column names (``BilledCost``, ``EffectiveCost``,
  ``ChargePeriodStart``...), costlens' own columns prefixed ``x_`` as FOCUS asks;
- ``rejections``: every input row that was not loaded, with the file, the row and why;
- ``ingests``: one row per file ingested (rows read, loaded, rejected, duplicates);
- ``utilization``: daily p95 CPU/memory/GPU per machine, for the recommender.

Query it with any SQL: ``costlens query "SELECT ServiceName, sum(EffectiveCost) ..."``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from costlens.errors import CostlensError

FOCUS_COLUMNS: dict[str, str] = {
    "BillingAccountId": "VARCHAR",
    "SubAccountId": "VARCHAR",
    "SubAccountName": "VARCHAR",
    "ProviderName": "VARCHAR",
    "InvoiceIssuerName": "VARCHAR",
    "BillingPeriodStart": "TIMESTAMP",
    "BillingPeriodEnd": "TIMESTAMP",
    "ChargePeriodStart": "TIMESTAMP",
    "ChargePeriodEnd": "TIMESTAMP",
    "ChargeCategory": "VARCHAR",
    "ChargeDescription": "VARCHAR",
    "PricingCategory": "VARCHAR",
    "CommitmentDiscountId": "VARCHAR",
    "ServiceName": "VARCHAR",
    "ServiceCategory": "VARCHAR",
    "ResourceId": "VARCHAR",
    "ResourceName": "VARCHAR",
    "RegionId": "VARCHAR",
    "SkuId": "VARCHAR",
    "ConsumedQuantity": "DOUBLE",
    "ConsumedUnit": "VARCHAR",
    "ListCost": "DOUBLE",
    "BilledCost": "DOUBLE",
    "EffectiveCost": "DOUBLE",
    "BillingCurrency": "VARCHAR",
    "Tags": "JSON",
    "x_InstanceType": "VARCHAR",
    "x_UsageType": "VARCHAR",
    "x_SourceFile": "VARCHAR",
    "x_SourceRow": "BIGINT",
    "x_LineItemKey": "VARCHAR",
    "x_MatchKey": "VARCHAR",
}

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS focus ({", ".join(f'"{c}" {t}' for c, t in FOCUS_COLUMNS.items())});
CREATE TABLE IF NOT EXISTS rejections (
    source VARCHAR, "row" BIGINT, provider VARCHAR, reason VARCHAR, raw VARCHAR,
    loaded_at TIMESTAMP DEFAULT current_timestamp);
CREATE TABLE IF NOT EXISTS ingests (
    source VARCHAR, format VARCHAR, sha256 VARCHAR, rows_read BIGINT, rows_loaded BIGINT,
    rows_updated BIGINT, rows_rejected BIGINT, rows_duplicate BIGINT,
    loaded_at TIMESTAMP DEFAULT current_timestamp);
CREATE TABLE IF NOT EXISTS utilization (
    provider VARCHAR, resource_id VARCHAR, instance_type VARCHAR, "date" DATE,
    cpu_p95 DOUBLE, mem_p95 DOUBLE, gpu_p95 DOUBLE);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
"""


class Store:
    """A DuckDB database file (or ``:memory:``) with the costlens schema."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        self.path = str(path)
        if read_only and self.path != ":memory:" and not Path(self.path).exists():
            raise CostlensError(f"no cost store at {self.path}; run `costlens ingest` first")
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise CostlensError(f"cannot open the cost store {self.path}: {exc}") from exc
        if not read_only:
            self.con.execute(SCHEMA)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a query and return its result as a DataFrame."""
        try:
            return self.con.execute(sql, params or []).df()
        except duckdb.Error as exc:
            raise CostlensError(f"query failed: {str(exc).splitlines()[0]}") from exc

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        row = self.con.execute(sql, params or []).fetchone()
        return None if row is None else row[0]

    def rows(self) -> int:
        return int(self.scalar("SELECT count(*) FROM focus"))

    def currency(self, default: str) -> str:
        """The store's billing currency: fixed by the first ingest."""
        value = self.scalar("SELECT value FROM meta WHERE key = 'currency'")
        if value is None:
            self.con.execute("INSERT INTO meta VALUES ('currency', ?)", [default])
            return default
        return str(value)

    def period(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last charge day in the store."""
        lo, hi = self.con.execute(
            "SELECT min(ChargePeriodStart), max(ChargePeriodStart) FROM focus"
        ).fetchone() or (None, None)
        if lo is None:
            raise CostlensError("the cost store is empty; run `costlens ingest` first")
        return pd.Timestamp(lo), pd.Timestamp(hi)
