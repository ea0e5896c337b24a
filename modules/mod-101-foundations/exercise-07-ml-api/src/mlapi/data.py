"""The shipped dataset: Fisher's Iris measurements (150 flowers, 3 species, public domain).

The CSV lies in ``mlapi/data/iris.csv``; any CSV with the same columns can replace it
(``mlapi train --data my.csv``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mlapi.errors import DatasetError

FEATURES: tuple[str, ...] = (
    "sepal_length_cm",
    "sepal_width_cm",
    "petal_length_cm",
    "petal_width_cm",
)
CLASSES: tuple[str, ...] = ("setosa", "versicolor", "virginica")
TARGET = "species"


@dataclass(frozen=True)
class Dataset:
    """Features ``x`` (float32, n x 4) and class ids ``y`` (int64, n)."""

    x: npt.NDArray[np.float32]
    y: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.y.shape[0])


def default_path() -> Path:
    """Path of the shipped CSV."""
    return Path(str(resources.files("mlapi") / "data" / "iris.csv"))


def load_dataset(path: Path | None = None) -> Dataset:
    """Read and validate a CSV with the columns in :data:`FEATURES` plus ``species``.

    Raises:
        DatasetError: Missing file or column, a non-numeric or non-positive value, an unknown
            species, or no rows; the message names the row.
    """
    path = path or default_path()
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in (*FEATURES, TARGET) if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
            xs: list[list[float]] = []
            ys: list[int] = []
            for line, row in enumerate(reader, start=2):
                try:
                    values = [float(row[c]) for c in FEATURES]
                except (TypeError, ValueError):
                    raise DatasetError(f"{path}:{line}: non-numeric feature value") from None
                if not all(math.isfinite(v) and v > 0 for v in values):
                    raise DatasetError(f"{path}:{line}: feature values must be positive numbers")
                if row[TARGET] not in CLASSES:
                    raise DatasetError(f"{path}:{line}: unknown species {row[TARGET]!r}")
                xs.append(values)
                ys.append(CLASSES.index(row[TARGET]))
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror}") from exc
    if not ys:
        raise DatasetError(f"{path}: no rows")
    return Dataset(np.asarray(xs, dtype=np.float32), np.asarray(ys, dtype=np.int64))


def split(data: Dataset, test_fraction: float = 0.2, seed: int = 7) -> tuple[Dataset, Dataset]:
    """Stratified train/test split: the same fraction of every class goes to the test set."""
    if not 0 < test_fraction < 1:
        raise DatasetError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    test_idx: list[int] = []
    for cls in np.unique(data.y):
        members = np.flatnonzero(data.y == cls)
        rng.shuffle(members)
        test_idx += members[: max(1, round(len(members) * test_fraction))].tolist()
    mask = np.zeros(len(data), dtype=bool)
    mask[test_idx] = True
    return Dataset(data.x[~mask], data.y[~mask]), Dataset(data.x[mask], data.y[mask])
