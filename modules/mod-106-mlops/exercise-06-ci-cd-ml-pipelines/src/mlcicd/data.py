"""The template project's data: loan applications with a known default mechanism.

``channel`` (how the application came in) has no effect on the label: the model gate's
invariance test changes it and expects the predictions to stay put. ``income`` lowers the
risk and ``debt_ratio`` raises it: the directional tests check the model learned that.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlcicd.errors import MlcicdError

REGIONS = ("north", "south", "east", "west")
CHANNELS = ("web", "branch", "phone")
NUMERIC = ("income", "debt_ratio", "age", "employment_years")
CATEGORICAL = ("region", "channel")
FEATURES = NUMERIC + CATEGORICAL
LABEL = "defaulted"


def generate(
    rows: int, seed: int = 0, *, income_scale: float = 1.0, debt_shift: float = 0.0
) -> pd.DataFrame:
    """``rows`` applications; ``income_scale``/``debt_shift`` move the population (drift)."""
    if rows < 1:
        raise MlcicdError(f"rows must be at least 1, got {rows}")
    rng = np.random.default_rng(seed)
    income = np.round(rng.lognormal(np.log(55.0), 0.45, rows) * income_scale, 2)
    debt_ratio = np.round(np.clip(rng.beta(2.0, 5.0, rows) * 1.2 + debt_shift, 0.0, 3.0), 3)
    age = rng.integers(21, 75, rows)
    employment_years = np.minimum(np.round(rng.gamma(2.0, 4.0, rows), 1), age - 18)
    region = rng.choice(REGIONS, rows, p=[0.3, 0.3, 0.2, 0.2])
    channel = rng.choice(CHANNELS, rows)
    region_effect = pd.Series(region).map({"north": 0.0, "south": 0.3, "east": -0.2, "west": 0.1})
    # the true mechanism uses the *original* scale of income: drifted applicants are richer
    logit = (
        -1.3
        - 0.06 * (income / income_scale - 55.0)
        + 6.0 * (debt_ratio - 0.34)
        - 0.12 * (employment_years - 8.0)
        + region_effect.to_numpy()
    )
    defaulted = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "income": income,
            "debt_ratio": debt_ratio,
            "age": age,
            "employment_years": employment_years,
            "region": region,
            "channel": channel,
            LABEL: defaulted,
        }
    )


def read_csv(path: Path) -> pd.DataFrame:
    """Read a data file; a missing, empty or unparsable one is one clear error."""
    if not path.is_file():
        raise MlcicdError(f"{path}: no such data file")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise MlcicdError(f"{path}: empty file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise MlcicdError(f"{path}: not a CSV table ({str(exc).splitlines()[0]})") from None
    if frame.empty:
        raise MlcicdError(f"{path}: a header and no rows")
    return frame


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a table (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path
