from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mlapi.data import FEATURES, load_dataset, split
from mlapi.errors import DatasetError


def test_shipped_dataset_has_150_flowers_50_per_species() -> None:
    data = load_dataset()
    assert data.x.shape == (150, len(FEATURES))
    assert np.bincount(data.y).tolist() == [50, 50, 50]
    assert data.x.dtype == np.float32


def test_split_is_stratified_disjoint_and_reproducible() -> None:
    data = load_dataset()
    train, test = split(data, test_fraction=0.2, seed=3)
    assert len(train) + len(test) == len(data)
    assert np.bincount(test.y).tolist() == [10, 10, 10]
    again_train, again_test = split(data, test_fraction=0.2, seed=3)
    assert np.array_equal(test.x, again_test.x)
    assert np.array_equal(train.y, again_train.y)
    rows = {tuple(r) for r in train.x.tolist()}
    # Iris has a few exact duplicate rows, so compare counts, not only membership.
    assert len(train.x) == 120
    assert any(tuple(r) not in rows for r in test.x.tolist())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("sepal_length_cm,species\n5.0,setosa\n", "missing column"),
        (",".join((*FEATURES, "species")) + "\n5.0,x,1.0,0.2,setosa\n", ":2: non-numeric"),
        (",".join((*FEATURES, "species")) + "\n5.0,3.0,-1.0,0.2,setosa\n", "positive"),
        (",".join((*FEATURES, "species")) + "\n5.0,3.0,1.0,0.2,rose\n", "unknown species 'rose'"),
        (",".join((*FEATURES, "species")) + "\n", "no rows"),
    ],
)
def test_bad_csv_gives_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


def test_missing_file_is_a_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        load_dataset(tmp_path / "nope.csv")
