"""Feature engineering: one function shared by training and batch inference.

The bounds used to clip heavy tails are fitted on the training split only and saved beside the
model (``feature_spec.json``), so scoring a batch months later applies exactly what training did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from airflowml.data import CONTRACTS


@dataclass(frozen=True)
class FeatureSpec:
    """What :func:`engineer` needs besides the raw table: fitted on the training split."""

    usage_cap: float
    charges_cap: float
    columns: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "columns": list(self.columns)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(
            usage_cap=float(data["usage_cap"]),
            charges_cap=float(data["charges_cap"]),
            columns=tuple(data["columns"]),
        )


FEATURES = (
    "tenure_years",
    "monthly_charges",
    "charges_per_tenure",
    "support_calls",
    "calls_per_year",
    "log_usage_gb",
    "is_young",
    *(f"contract_{c}" for c in CONTRACTS),
)


def fit_spec(train: pd.DataFrame) -> FeatureSpec:
    """Fit the clipping bounds (99th percentiles) on the training split."""
    return FeatureSpec(
        usage_cap=float(np.nanpercentile(train["usage_gb"], 99)),
        charges_cap=float(np.nanpercentile(train["monthly_charges"], 99)),
        columns=FEATURES,
    )


def engineer(raw: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Turn raw columns into the model's features, in ``spec.columns`` order."""
    tenure_years = raw["tenure_months"].astype(float) / 12
    charges = raw["monthly_charges"].astype(float).clip(upper=spec.charges_cap)
    calls = raw["support_calls"].astype(float)
    out = pd.DataFrame(
        {
            "tenure_years": tenure_years,
            "monthly_charges": charges,
            "charges_per_tenure": charges / (raw["tenure_months"].astype(float) + 1),
            "support_calls": calls,
            "calls_per_year": calls / (tenure_years + 1),
            "log_usage_gb": np.log1p(raw["usage_gb"].astype(float).clip(upper=spec.usage_cap)),
            "is_young": (raw["age"].astype(int) < 30).astype(float),
        },
        index=raw.index,
    )
    for contract in CONTRACTS:
        out[f"contract_{contract}"] = (raw["contract"] == contract).astype(float)
    return out[list(spec.columns)]
