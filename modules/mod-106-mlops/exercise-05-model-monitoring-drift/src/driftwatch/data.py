"""A loan-default dataset whose windows drift on demand, and CSV loading that checks its input.

The reference window is what the model was trained on. Each later window is drawn from the
same process unless a :class:`DriftSpec` changes it:

- ``shift``: covariate shift, a feature's mean moves by N of its standard deviations;
- ``new_categories``: a categorical column starts seeing values never seen in the reference;
- ``missing``: a share of a column's values go missing (a broken upstream join, say);
- ``concept``: the relation between features and label changes (labels only, inputs stay).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from driftwatch.errors import DataError

NUMERICAL = ("age", "income", "debt_ratio", "credit_score", "loan_amount")
CATEGORICAL = ("region", "employment")
FEATURES = NUMERICAL + CATEGORICAL
TARGET = "default"

REGIONS = ("north", "south", "east", "west")
EMPLOYMENT = ("salaried", "self_employed", "unemployed")
_EMPLOYMENT_P = (0.7, 0.22, 0.08)


@dataclass(frozen=True)
class DriftSpec:
    """How a window differs from the reference.

    Attributes:
        shift: Feature name → mean shift in units of that feature's standard deviation.
        new_categories: Categorical column → (new values, share of rows that get one).
        missing: Column → share of values set missing.
        concept: 0..1, how far the label mechanism moves (1: credit score stops mattering
            and debt ratio matters twice as much).
    """

    shift: dict[str, float] = field(default_factory=dict)
    new_categories: dict[str, tuple[tuple[str, ...], float]] = field(default_factory=dict)
    missing: dict[str, float] = field(default_factory=dict)
    concept: float = 0.0

    def __post_init__(self) -> None:
        for name in (*self.shift, *self.missing):
            if name not in FEATURES:
                raise DataError(f"unknown feature {name!r}; features are {', '.join(FEATURES)}")
        for name in self.shift:
            if name not in NUMERICAL:
                raise DataError(f"cannot shift the mean of categorical feature {name!r}")
        for name, (_, share) in self.new_categories.items():
            if name not in CATEGORICAL:
                raise DataError(f"new categories need a categorical column, not {name!r}")
            if not 0 <= share <= 1:
                raise DataError(f"share of new categories must be in [0, 1], got {share}")
        for name, share in self.missing.items():
            if not 0 <= share < 1:
                raise DataError(f"missing share of {name!r} must be in [0, 1), got {share}")
        if not 0 <= self.concept <= 1:
            raise DataError(f"concept drift must be in [0, 1], got {self.concept}")

    @property
    def is_none(self) -> bool:
        """True when the window comes from the reference process unchanged."""
        return not (self.shift or self.new_categories or self.missing or self.concept)


#: Named scenarios for the CLI and the demo.
SCENARIOS: dict[str, DriftSpec] = {
    "none": DriftSpec(),
    "covariate": DriftSpec(shift={"income": -0.8, "credit_score": -0.9, "debt_ratio": 0.9}),
    "new_category": DriftSpec(
        new_categories={"region": (("central",), 0.3), "employment": (("gig",), 0.25)}
    ),
    "missing": DriftSpec(missing={"income": 0.35, "credit_score": 0.2}),
    "concept": DriftSpec(concept=1.0),
    "severe": DriftSpec(
        shift={"age": -0.7, "income": -0.8, "credit_score": -0.9, "debt_ratio": 0.9},
        new_categories={"employment": (("gig",), 0.25)},
        concept=1.0,
    ),
}


def scenario(name: str) -> DriftSpec:
    """The named scenario, or a clear error listing the names."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise DataError(
            f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}"
        ) from None


def _default_probability(frame: pd.DataFrame, concept: float) -> np.ndarray:
    """P(default) from standardised features; ``concept`` moves the weights."""
    z_credit = (frame["credit_score"].fillna(650) - 650) / 80
    z_debt = (frame["debt_ratio"].fillna(0.35) - 0.35) / 0.12
    z_income = (np.log(frame["income"].fillna(45_000)) - np.log(45_000)) / 0.45
    unemployed = (frame["employment"] == "unemployed").astype(float)
    w_credit = -1.6 * (1 - concept)
    w_debt = 1.1 * (1 + concept)
    logit = -1.0 + w_credit * z_credit + w_debt * z_debt - 0.6 * z_income + 1.2 * unemployed
    logit = logit + concept * 1.5 * (frame["age"].fillna(40) < 30)
    return np.asarray(1 / (1 + np.exp(-logit)))


def generate(rows: int, *, seed: int, drift: DriftSpec | None = None) -> pd.DataFrame:
    """One window of ``rows`` applicants with their ``default`` label.

    Args:
        rows: Number of rows (at least 1).
        seed: Random seed; the same seed and spec give the same frame.
        drift: How this window differs from the reference; None for no drift.

    Returns:
        Columns ``FEATURES`` plus ``TARGET``.
    """
    if rows < 1:
        raise DataError(f"a window needs at least one row, got {rows}")
    spec = drift or DriftSpec()
    rng = np.random.default_rng(seed)
    sd = {"age": 11.0, "income": 0.45, "debt_ratio": 0.12, "credit_score": 80.0, "loan_amount": 0.6}
    shift = {name: spec.shift.get(name, 0.0) * sd[name] for name in NUMERICAL}
    frame = pd.DataFrame(
        {
            "age": np.clip(rng.normal(40 + shift["age"], sd["age"], rows), 18, 90).round(),
            "income": np.exp(rng.normal(np.log(45_000) + shift["income"], sd["income"], rows)),
            "debt_ratio": np.clip(
                rng.normal(0.35 + shift["debt_ratio"], sd["debt_ratio"], rows), 0, 1.5
            ),
            "credit_score": np.clip(
                rng.normal(650 + shift["credit_score"], sd["credit_score"], rows), 300, 850
            ).round(),
            "loan_amount": np.exp(
                rng.normal(np.log(12_000) + shift["loan_amount"], sd["loan_amount"], rows)
            ),
            "region": rng.choice(REGIONS, rows),
            "employment": rng.choice(EMPLOYMENT, rows, p=_EMPLOYMENT_P),
        }
    )
    for column, (values, share) in spec.new_categories.items():
        hit = rng.random(rows) < share
        frame.loc[hit, column] = rng.choice(values, int(hit.sum()))
    frame[TARGET] = (rng.random(rows) < _default_probability(frame, spec.concept)).astype(int)
    for column, share in spec.missing.items():
        frame.loc[rng.random(rows) < share, column] = np.nan
    return frame


def validate_frame(frame: pd.DataFrame, *, source: str, require_target: bool = False) -> None:
    """Raise :class:`DataError` unless ``frame`` has the feature columns with usable types.

    Args:
        frame: The data.
        source: Where it came from, for the message (a path, "reference").
        require_target: Also require the ``default`` label column.
    """
    if frame.empty:
        raise DataError(f"{source}: no rows")
    needed = list(FEATURES) + ([TARGET] if require_target else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)}")
    for column in NUMERICAL:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            bad = pd.to_numeric(frame[column], errors="coerce").isna() & frame[column].notna()
            example = frame.loc[bad, column].iloc[0] if bad.any() else "?"
            raise DataError(
                f"{source}: column {column!r} must be numeric, found {example!r} "
                f"in {int(bad.sum())} row(s)"
            )
    for column in needed:
        if frame[column].isna().all():
            raise DataError(f"{source}: column {column!r} is entirely empty")


def load_csv(path: Path | str, *, require_target: bool = False) -> pd.DataFrame:
    """Read and validate a window from CSV.

    Raises:
        DataError: The file is missing, unreadable as CSV, or lacks usable columns.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc.__class__.__name__})") from exc
    validate_frame(frame, source=str(path), require_target=require_target)
    return frame


def load_labels(path: Path | str) -> pd.DataFrame:
    """Read a ``*.labels.csv`` delivery (``prediction_id``, the target).

    Raises:
        DataError: The file is missing or unreadable as CSV (its columns are checked when the
            labels are joined).
    """
    path = Path(path)
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc.__class__.__name__})") from exc
