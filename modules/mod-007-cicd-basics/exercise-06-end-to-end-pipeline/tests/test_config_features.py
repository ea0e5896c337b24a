"""The params file and the feature pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from e2epipe.config import FeatureParams, Params, load_params
from e2epipe.data import generate, validate
from e2epipe.errors import E2epipeError
from e2epipe.features import feature_count, feature_pipeline
from e2epipe.train import search, split_xy
from sklearn.pipeline import Pipeline


def test_params_file_overrides_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("seed: 7\nfeatures:\n  select_k: 10\nthresholds:\n  min_f1: 0.6\n")
    params = load_params(path)
    assert (params.seed, params.features.select_k, params.thresholds.min_f1) == (7, 10, 0.6)
    assert params.cv_folds == Params().cv_folds
    assert load_params(None) == Params()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("seed: seven\n", "seed='seven': Input should be a valid integer"),
        ("cv_folds: 1\n", "cv_folds=1: Input should be greater than or equal to 2"),
        ("models: [xgboost]\n", "models.0='xgboost'"),
        ("learning_rate: 0.1\n", "learning_rate=0.1: Extra inputs are not permitted"),
        ("thresholds:\n  min_f1: .nan\n", "thresholds.min_f1"),
        ("- a\n- b\n", "expected a mapping of parameters, got list"),
        ("seed: [\n", "not valid YAML"),
    ],
)
def test_a_wrong_params_file_names_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(E2epipeError) as caught:
        load_params(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_params_file(tmp_path: Path) -> None:
    with pytest.raises(E2epipeError, match="no such params file"):
        load_params(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "features",
    [
        FeatureParams(polynomial_degree=1, select_k=0),
        FeatureParams(polynomial_degree=2, select_k=0),
        FeatureParams(polynomial_degree=2, interaction_only=True, select_k=0),
        FeatureParams(polynomial_degree=3, select_k=0),
    ],
)
def test_feature_count_matches_what_the_pipeline_makes(features: FeatureParams) -> None:
    x, _ = split_xy(validate(generate(300, seed=1)).accepted)
    made = Pipeline(feature_pipeline(features)).fit_transform(x)
    assert made.shape == (300, feature_count(features))
    assert np.isfinite(made).all()  # the null total_charges were imputed


def test_selection_and_pca_shrink_the_features() -> None:
    frame = validate(generate(300, seed=1)).accepted
    x, y = split_xy(frame)
    selected = Pipeline(feature_pipeline(FeatureParams(select_k=12))).fit_transform(x, y)
    assert selected.shape[1] == 12
    reduced = Pipeline(feature_pipeline(FeatureParams(select_k=12, pca_components=4)))
    assert reduced.fit_transform(x, y).shape[1] == 4


def test_imputation_learns_from_training_rows_only() -> None:
    frame = validate(generate(400, seed=2)).accepted
    train, other = frame.iloc[:200], frame.iloc[200:].copy()
    other["total_charges"] = np.nan
    x, y = split_xy(train)
    pipeline = Pipeline(feature_pipeline(FeatureParams(polynomial_degree=1, select_k=0)))
    pipeline.fit(x, y)
    imputer = pipeline.named_steps["prep"].named_transformers_["numeric"].named_steps["impute"]
    column = list(x.columns).index("total_charges")
    assert imputer.statistics_[column] == pytest.approx(np.nanmedian(x["total_charges"]))


def test_select_k_above_the_feature_count_is_refused() -> None:
    frame = validate(generate(200, seed=1)).accepted
    x, y = split_xy(frame)
    params = Params(quick=True, features=FeatureParams(polynomial_degree=1, select_k=500))
    with pytest.raises(E2epipeError, match="select_k=500 is more than the 12 features"):
        search("logistic_regression", x, y, params)
