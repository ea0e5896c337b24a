"""The data: a synthetic customer-churn table, its schema, ingest (CSV/Parquet) and validation.

The generator stands in for a warehouse export: numeric, integer and categorical columns, a
nullable column (``total_charges`` is empty for brand-new customers), and a label whose
probability depends on interactions (support calls x monthly charges), so the polynomial
features of the next stage have something to find.

Validation splits rows into accepted and rejected (each rejected row keeps its reason, written
to ``rejected.csv``): a few bad rows are quarantined, too many fail the stage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from e2epipe.errors import E2epipeError

logger = logging.getLogger(__name__)

LABEL = "churned"


@dataclass(frozen=True)
class Column:
    """One column of the contract: its kind, range or allowed values, and null policy."""

    name: str
    kind: str  # "float", "int" or "category"
    low: float | None = None
    high: float | None = None
    allowed: tuple[str, ...] = ()
    nullable: bool = False


CONTRACTS = ("month-to-month", "one-year", "two-year")
PAYMENTS = ("card", "bank-transfer", "electronic-check", "mailed-check")
SCHEMA: tuple[Column, ...] = (
    Column("tenure_months", "int", 0, 72),
    Column("monthly_charges", "float", 10, 200),
    Column("total_charges", "float", 0, 20_000, nullable=True),
    Column("contract", "category", allowed=CONTRACTS),
    Column("payment_method", "category", allowed=PAYMENTS),
    Column("support_calls", "int", 0, 30),
    Column("age", "int", 18, 100),
)
FEATURES = tuple(c.name for c in SCHEMA)
NUMERIC = tuple(c.name for c in SCHEMA if c.kind != "category")
CATEGORICAL = tuple(c.name for c in SCHEMA if c.kind == "category")
#: Below this many rows per class the model cannot be trained or evaluated honestly.
MIN_ROWS_PER_CLASS = 20


def generate(rows: int = 3000, seed: int = 42) -> pd.DataFrame:
    """A synthetic churn table with a learnable, partly non-linear label.

    Args:
        rows: How many customers.
        seed: Random seed (same seed, same table).

    Returns:
        The table: the :data:`FEATURES` columns and the ``churned`` label (0/1).
    """
    if rows < 1:
        raise E2epipeError("rows must be at least 1")
    rng = np.random.default_rng(seed)
    contract = rng.choice(CONTRACTS, size=rows, p=[0.55, 0.25, 0.20])
    payment = rng.choice(PAYMENTS, size=rows, p=[0.3, 0.25, 0.3, 0.15])
    tenure = np.where(
        contract == "month-to-month",
        rng.integers(0, 36, rows),
        rng.integers(6, 73, rows),
    )
    monthly = np.round(rng.uniform(18, 120, rows), 2)
    total = np.round(tenure * monthly * rng.uniform(0.9, 1.1, rows), 2)
    support = rng.poisson(1.5, rows).clip(0, 30)
    age = rng.integers(18, 90, rows)
    logit = (
        -2.0
        + 2.2 * (contract == "month-to-month")
        - 1.0 * (contract == "two-year")
        - 0.06 * tenure
        + 1.2 * (payment == "electronic-check")
        + 0.45 * support * (monthly / 60.0)  # the interaction the polynomial features find
        + 0.015 * (monthly - 70)
        - 0.015 * (age - 45)
    )
    label = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "total_charges": total.astype(float),
            "contract": contract,
            "payment_method": payment,
            "support_calls": support,
            "age": age,
            LABEL: label,
        }
    )
    frame.loc[frame["tenure_months"] == 0, "total_charges"] = np.nan
    return frame


def write(frame: pd.DataFrame, path: Path) -> Path:
    """Write a table as CSV or Parquet (by the file's suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in {".parquet", ".pq"}:
        frame.to_parquet(path, index=False)
    elif path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        raise E2epipeError(f"{path}: write .csv or .parquet")
    return path


def ingest(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file and check that every column of the contract is there.

    Values are read as they are (strings stay strings): :func:`validate` decides row by row.

    Raises:
        E2epipeError: missing, unreadable, empty, or missing a column.
    """
    if not path.is_file():
        raise E2epipeError(f"{path}: no such data file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        elif suffix in {".parquet", ".pq"}:
            frame = pd.read_parquet(path)
        else:
            raise E2epipeError(
                f"{path}: unsupported data file type {suffix!r} (use .csv or .parquet)"
            )
    except E2epipeError:
        raise
    except pd.errors.EmptyDataError:
        raise E2epipeError(f"{path}: the file is empty") from None
    except Exception as exc:  # pandas/pyarrow raise many types for a corrupt file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise E2epipeError(f"{path}: cannot read it as {suffix[1:]}: {first}") from None
    if frame.empty:
        raise E2epipeError(f"{path}: the file has no rows")
    missing = [c for c in (*FEATURES, LABEL) if c not in frame.columns]
    if missing:
        raise E2epipeError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame


@dataclass
class ValidationReport:
    """What :func:`validate` found."""

    rows_in: int
    accepted: pd.DataFrame
    rejected: pd.DataFrame  # the rejected rows with a ``reason`` column
    duplicates_dropped: int = 0
    null_counts: dict[str, int] = field(default_factory=dict)
    class_counts: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the stage may go on."""
        return not self.errors

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary (reports, MLflow)."""
        reasons = self.rejected["reason"].value_counts().to_dict() if len(self.rejected) else {}
        return {
            "rows_in": self.rows_in,
            "accepted": len(self.accepted),
            "rejected": len(self.rejected),
            "rejected_reasons": {str(k): int(v) for k, v in reasons.items()},
            "duplicates_dropped": self.duplicates_dropped,
            "null_counts": self.null_counts,
            "class_counts": {str(k): v for k, v in self.class_counts.items()},
            "errors": self.errors,
        }


def _row_problems(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Typed columns and, per row, the first rule it breaks ('' when none)."""
    typed = pd.DataFrame(index=frame.index)
    reason = pd.Series("", index=frame.index, dtype=object)

    def flag(mask: pd.Series, text: str) -> None:
        reason[mask & (reason == "")] = text

    for column in SCHEMA:
        raw = frame[column.name]
        missing = raw.isna()
        if column.kind == "category":
            values = raw.astype(object).where(~missing, None)
            flag(~missing & ~values.isin(column.allowed), f"{column.name}: unknown category")
            typed[column.name] = values
        else:
            numbers = pd.to_numeric(raw, errors="coerce")
            flag(~missing & numbers.isna(), f"{column.name}: not a number")
            finite = np.isfinite(numbers.to_numpy(dtype=float, na_value=np.nan))
            flag(~missing & numbers.notna() & ~finite, f"{column.name}: not finite")
            if column.kind == "int":
                flag(
                    numbers.notna() & finite & (numbers % 1 != 0), f"{column.name}: not an integer"
                )
            flag(
                numbers.notna() & finite & ((numbers < column.low) | (numbers > column.high)),
                f"{column.name}: outside [{column.low:g}, {column.high:g}]",
            )
            typed[column.name] = numbers.astype(float)
        if not column.nullable:
            flag(missing, f"{column.name}: missing")
    label = pd.to_numeric(frame[LABEL], errors="coerce")
    flag(~label.isin([0, 1]), f"{LABEL}: not 0 or 1")
    typed[LABEL] = label
    return typed, reason


def validate(frame: pd.DataFrame, max_reject_fraction: float = 0.05) -> ValidationReport:
    """Check every row against :data:`SCHEMA`; quarantine the bad ones.

    Args:
        frame: What :func:`ingest` read.
        max_reject_fraction: Above this share of rejected rows the stage fails (the file is
            more likely broken than a few rows dirty).

    Returns:
        The report: accepted rows (typed), rejected rows with reasons, counts, errors.
    """
    rows_in = len(frame)
    typed, reason = _row_problems(frame)
    bad = reason != ""
    rejected = frame.loc[bad].copy()
    rejected["reason"] = reason[bad]
    accepted = typed.loc[~bad].copy()
    before = len(accepted)
    accepted = accepted.drop_duplicates().reset_index(drop=True)
    for column in CATEGORICAL:
        accepted[column] = accepted[column].astype(str)
    for column in (c.name for c in SCHEMA if c.kind == "int"):
        accepted[column] = accepted[column].astype(int)
    accepted[LABEL] = accepted[LABEL].astype(int)
    report = ValidationReport(
        rows_in=rows_in,
        accepted=accepted,
        rejected=rejected,
        duplicates_dropped=before - len(accepted),
        null_counts={c: int(accepted[c].isna().sum()) for c in FEATURES},
        class_counts={int(k): int(v) for k, v in accepted[LABEL].value_counts().items()},
    )
    share = len(rejected) / rows_in if rows_in else 1.0
    if share > max_reject_fraction:
        top = rejected["reason"].value_counts().index[0]
        report.errors.append(
            f"{len(rejected)} of {rows_in} rows ({share:.0%}) break the schema, more than "
            f"{max_reject_fraction:.0%} allowed (most common: {top})"
        )
    for cls in (0, 1):
        if report.class_counts.get(cls, 0) < MIN_ROWS_PER_CLASS:
            report.errors.append(
                f"class {cls} has {report.class_counts.get(cls, 0)} rows, at least "
                f"{MIN_ROWS_PER_CLASS} needed"
            )
    logger.info(
        "validated %d rows: %d accepted, %d rejected", rows_in, len(accepted), len(rejected)
    )
    return report
