"""The dataset: loaded without a download, split once, hashed for lineage.

``breast_cancer`` is the Wisconsin diagnostic dataset that scikit-learn ships inside its wheel
(569 tumours, 30 numeric features, malignant or benign). ``synthetic`` is generated from the
seed (``make_classification``) and can be made as large as a benchmark needs.

The split is fixed by the seed: 60 % train, 20 % validation (what runs are ranked on) and
20 % held out. The held-out part is never seen in training or model selection; only the
promotion gates use it, so "better than the champion" is measured on data neither model
was chosen on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from exptrack.errors import ExptrackError

DATASETS = ("breast_cancer", "synthetic")
TARGET = "target"


@dataclass(frozen=True)
class Dataset:
    """One split of one dataset.

    Attributes:
        name: Dataset name.
        features: Feature column names, in order.
        train: Training rows (features and ``target``).
        val: Validation rows: metrics that rank runs.
        holdout: Held-out rows: only the promotion gates see them.
        digest: SHA-256 of the full table and the split seed (logged as the ``data_hash`` tag).
    """

    name: str
    features: list[str]
    train: pd.DataFrame
    val: pd.DataFrame
    holdout: pd.DataFrame
    digest: str

    def xy(self, part: str) -> tuple[pd.DataFrame, np.ndarray]:
        """Features and labels of ``train``, ``val`` or ``holdout``."""
        frame: pd.DataFrame = getattr(self, part)
        return frame[self.features], frame[TARGET].to_numpy()


def _raw(name: str, seed: int, rows: int) -> pd.DataFrame:
    if name == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        bunch = load_breast_cancer(as_frame=True)
        frame = bunch.frame.copy()
        # Spaces in column names survive MLflow signatures but not every shell: use snake_case.
        frame.columns = [str(c).replace(" ", "_") for c in frame.columns]
        return frame.astype({c: "float64" for c in frame.columns if c != TARGET})
    if name == "synthetic":
        from sklearn.datasets import make_classification

        x, y = make_classification(
            n_samples=rows,
            n_features=20,
            n_informative=8,
            n_redundant=4,
            class_sep=1.0,
            flip_y=0.02,
            random_state=seed,
        )
        frame = pd.DataFrame(x, columns=[f"f{i:02d}" for i in range(x.shape[1])])
        frame[TARGET] = y
        return frame
    raise ExptrackError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def load_dataset(
    name: str = "breast_cancer",
    *,
    seed: int = 42,
    rows: int = 2000,
    features: list[str] | None = None,
) -> Dataset:
    """Load ``name`` and split it 60/20/20, stratified, with ``seed``.

    Args:
        name: ``breast_cancer`` or ``synthetic``.
        seed: Split seed (and the generator's seed for ``synthetic``).
        rows: Rows of the synthetic dataset.
        features: Keep only these columns (a model trained on fewer features has a
            different signature: the promotion gate refuses it).

    Raises:
        ExptrackError: Unknown dataset or feature.
    """
    from sklearn.model_selection import train_test_split

    frame = _raw(name, seed, rows)
    all_features = [c for c in frame.columns if c != TARGET]
    if features:
        unknown = [f for f in features if f not in all_features]
        if unknown:
            raise ExptrackError(
                f"unknown feature(s) {', '.join(unknown)} in {name}; "
                f"it has {', '.join(all_features[:5])}, ..."
            )
        chosen = list(features)
    else:
        chosen = all_features
    digest = hashlib.sha256(
        pd.util.hash_pandas_object(frame[[*chosen, TARGET]], index=True).to_numpy().tobytes()
        + f"|seed={seed}".encode()
    ).hexdigest()
    train, rest = train_test_split(frame, test_size=0.4, stratify=frame[TARGET], random_state=seed)
    val, holdout = train_test_split(rest, test_size=0.5, stratify=rest[TARGET], random_state=seed)
    keep = [*chosen, TARGET]
    return Dataset(
        name=name,
        features=chosen,
        train=train[keep].reset_index(drop=True),
        val=val[keep].reset_index(drop=True),
        holdout=holdout[keep].reset_index(drop=True),
        digest=digest,
    )
