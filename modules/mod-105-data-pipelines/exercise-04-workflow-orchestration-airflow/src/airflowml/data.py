"""The exercise's data: a generated customer-churn table, its schema, and the validation rules.

Nothing is downloaded. :func:`generate` draws a reproducible table from a known model of churn
(short tenure, monthly contracts, many support calls and high charges raise the odds), so a
trained model has something real to find, and knobs to break it on purpose: label noise (a
worse model), nulls and out-of-range values (a batch that must be refused), drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from airflowml.errors import AirflowmlError, DataValidationError

LABEL = "churned"
CONTRACTS = ("monthly", "annual", "two_year")


@dataclass(frozen=True)
class Column:
    """One column's rules: numeric bounds, or the allowed values of a category."""

    name: str
    kind: str  # "int", "float" or "category"
    low: float | None = None
    high: float | None = None
    allowed: tuple[str, ...] = ()
    nullable: bool = False


SCHEMA: tuple[Column, ...] = (
    Column("customer_id", "category"),
    Column("tenure_months", "int", 0, 120),
    Column("monthly_charges", "float", 0, 500),
    Column("support_calls", "int", 0, 50),
    Column("usage_gb", "float", 0, 5000),
    Column("age", "int", 18, 110),
    Column("contract", "category", allowed=CONTRACTS),
)
FEATURE_COLUMNS = tuple(c.name for c in SCHEMA if c.name != "customer_id")


@dataclass
class ValidationReport:
    """What :func:`validate` found: ``ok`` only when ``reasons`` is empty."""

    rows: int
    reasons: list[str] = field(default_factory=list)
    null_fraction: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.reasons


def generate(
    n_rows: int = 2000,
    seed: int = 7,
    *,
    label_noise: float = 0.0,
    inject_nulls: float = 0.0,
    drift: float = 0.0,
    with_label: bool = True,
) -> pd.DataFrame:
    """Draw a churn table.

    Args:
        n_rows: Rows to draw (at least 50).
        seed: The seed: the same arguments give the same table.
        label_noise: Fraction of labels flipped at random (a degraded source).
        inject_nulls: Fraction of ``monthly_charges`` set to null (a broken export).
        drift: Shift of the usage and charges distributions, in standard deviations.
        with_label: Leave out ``churned`` for a batch to score.

    Returns:
        One row per customer: ``customer_id``, the features, and ``churned`` (0/1).
    """
    if n_rows < 50:
        raise AirflowmlError(f"n_rows must be at least 50, got {n_rows}")
    for name, value in (("label_noise", label_noise), ("inject_nulls", inject_nulls)):
        if not 0 <= value <= 1:
            raise AirflowmlError(f"{name} must be within [0, 1], got {value}")
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 73, n_rows)
    contract = rng.choice(CONTRACTS, n_rows, p=[0.55, 0.3, 0.15])
    charges = np.clip(rng.normal(70 + 15 * drift, 25, n_rows), 18, 200).round(2)
    calls = rng.poisson(1.5, n_rows)
    usage = np.clip(rng.gamma(2.0, 60 * (1 + 0.5 * drift), n_rows), 0, 4000).round(1)
    age = rng.integers(18, 86, n_rows)
    logit = (
        -1.0
        - 0.045 * tenure
        + 1.6 * (contract == "monthly")
        - 0.8 * (contract == "two_year")
        + 0.45 * calls
        + 0.018 * (charges - 70)
        - 0.004 * (usage - 120)
        + 0.03 * (age < 30)
    )
    prob = 1 / (1 + np.exp(-logit))
    label = (rng.random(n_rows) < prob).astype(int)
    if label_noise:
        flip = rng.random(n_rows) < label_noise
        label = np.where(flip, 1 - label, label)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{seed:04d}-{i:06d}" for i in range(n_rows)],
            "tenure_months": tenure,
            "monthly_charges": charges,
            "support_calls": calls,
            "usage_gb": usage,
            "age": age,
            "contract": contract,
        }
    )
    if inject_nulls:
        holes = rng.random(n_rows) < inject_nulls
        frame.loc[holes, "monthly_charges"] = np.nan
    if with_label:
        frame[LABEL] = label
    return frame


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV, turning a missing or unreadable file into a clear error."""
    if not path.is_file():
        raise AirflowmlError(f"no such data file: {path}")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise AirflowmlError(f"{path} is not a readable CSV: {exc}") from None


def validate(frame: pd.DataFrame, *, require_label: bool = True) -> ValidationReport:
    """Check a table against :data:`SCHEMA`: columns present, types, ranges, nulls, categories.

    Args:
        frame: The table.
        require_label: Training data must carry ``churned`` as 0/1; a batch to score need not.

    Returns:
        The report; its ``reasons`` name every broken rule (the run's failure message).
    """
    report = ValidationReport(rows=len(frame))
    if len(frame) == 0:
        report.reasons.append("the table has no rows")
        return report
    wanted = [c.name for c in SCHEMA] + ([LABEL] if require_label else [])
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        report.reasons.append(f"missing columns: {', '.join(missing)}")
    for column in SCHEMA:
        if column.name not in frame.columns:
            continue
        values = frame[column.name]
        nulls = int(values.isna().sum())
        report.null_fraction[column.name] = nulls / len(frame)
        if nulls and not column.nullable:
            report.reasons.append(f"{column.name}: {nulls} nulls")
        present = values.dropna()
        if column.kind in ("int", "float"):
            numeric = pd.to_numeric(present, errors="coerce")
            bad = int(numeric.isna().sum())
            if bad:
                report.reasons.append(f"{column.name}: {bad} non-numeric values")
                continue
            if column.kind == "int" and not np.all(np.mod(numeric, 1) == 0):
                report.reasons.append(f"{column.name}: non-integer values")
            low, high = column.low, column.high
            if low is not None and high is not None:
                out = int(((numeric < low) | (numeric > high)).sum())
                if out:
                    report.reasons.append(
                        f"{column.name}: {out} values outside [{low:g}, {high:g}]"
                    )
        elif column.allowed:
            unknown = sorted(set(present.astype(str)) - set(column.allowed))
            if unknown:
                report.reasons.append(f"{column.name}: unknown values {', '.join(unknown[:5])}")
    if "customer_id" in frame.columns and frame["customer_id"].duplicated().any():
        dupes = int(frame["customer_id"].duplicated().sum())
        report.reasons.append(f"customer_id: {dupes} duplicates")
    if require_label and LABEL in frame.columns:
        labels = set(frame[LABEL].dropna().unique().tolist())
        if not labels <= {0, 1}:
            report.reasons.append(f"{LABEL}: values other than 0/1")
        elif len(labels) < 2:
            report.reasons.append(f"{LABEL}: only one class present")
        if frame[LABEL].isna().any():
            report.reasons.append(f"{LABEL}: {int(frame[LABEL].isna().sum())} nulls")
    return report


def require_valid(
    frame: pd.DataFrame, source: str, *, require_label: bool = True
) -> ValidationReport:
    """The report of a valid table, or :class:`DataValidationError` listing every broken rule
    (its message: ``<source> failed validation: <reason>; <reason>``)."""
    report = validate(frame, require_label=require_label)
    if not report.ok:
        raise DataValidationError(source, report.reasons)
    return report


def mean_shift(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, float]:
    """Per numeric feature, how far the current mean moved, in reference standard deviations."""
    shifts: dict[str, float] = {}
    for column in SCHEMA:
        if column.kind == "category" or column.name not in current.columns:
            continue
        ref = reference[column.name].astype(float)
        std = float(ref.std()) or 1.0
        moved = (float(current[column.name].astype(float).mean()) - float(ref.mean())) / std
        shifts[column.name] = 0.0 if math.isnan(moved) else round(moved, 4)
    return shifts
