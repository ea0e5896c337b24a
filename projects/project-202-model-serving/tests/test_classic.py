"""The classic model server: two real models, v2 better, and a strict input contract."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from servplat.backends.classic import FEATURES, PredictIn, create_app, dataset, train


def test_the_data_is_reproducible_and_v2_learns_what_v1_cannot() -> None:
    x1, y1 = dataset(500, seed=3)
    x2, y2 = dataset(500, seed=3)
    assert np.array_equal(x1, x2)
    assert np.array_equal(y1, y2)
    assert x1.shape == (500, len(FEATURES))
    _, auc_v1 = train("v1")
    _, auc_v2 = train("v2")
    assert 0.6 < auc_v1 < auc_v2  # the boosted trees see the interactions
    with pytest.raises(ValueError, match="unknown version 'v3'"):
        train("v3")


def test_predict_scores_a_batch_and_refuses_bad_shapes() -> None:
    client = TestClient(create_app("v1"))
    rows = [[55, 0.7, 40, 3, 2], [120, 0.1, 50, 0, 10]]
    body = client.post("/v1/predict", json={"instances": rows}).json()
    assert body["version"] == "v1"
    first, second = body["predictions"]
    assert first["probability"] > second["probability"]  # indebted and late vs. the opposite
    assert first["label"] == int(first["probability"] >= 0.5)
    refused = client.post("/v1/predict", json={"instances": [[1, 2, 3]]})
    assert refused.status_code == 422
    assert "expected 5" in refused.text
    assert client.post("/v1/predict", json={"instances": []}).status_code == 422
    assert client.get("/v1/info").json()["features"] == list(FEATURES)


def test_non_finite_values_are_refused() -> None:
    with pytest.raises(ValidationError, match="finite number"):
        PredictIn(instances=[[1, float("nan"), 3, 4, 5]])
