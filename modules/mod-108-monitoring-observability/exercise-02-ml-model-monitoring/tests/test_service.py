"""The service's metrics say what happened: predictions, errors, labels, inputs."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from modelmon.config import ModelmonSettings
from modelmon.metrics import EXPORTED, PSI_MIN_ROWS
from modelmon.model import FEATURES, FraudModel, generate
from modelmon.service import create_app

Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


def test_predict_answers_and_counts(
    client: TestClient, txn: dict[str, float], scrape: Callable[[TestClient], Samples]
) -> None:
    response = client.post("/predict", json=txn)
    assert response.status_code == 200
    body = response.json()
    assert 0 <= body["fraud_score"] <= 1
    assert body["model_version"] == "1.0.0"
    m = scrape(client)
    predicted = "1" if body["is_fraud"] else "0"
    key = (("model_version", "1.0.0"), ("predicted_class", predicted))
    assert m["modelmon_predictions_total"][key] == 1
    assert m["modelmon_prediction_latency_seconds_count"][(("model_version", "1.0.0"),)] == 1
    assert m["modelmon_prediction_score_count"][(("model_version", "1.0.0"),)] == 1
    info = next(iter(m["modelmon_model_info"]))
    assert ("version", "1.0.0") in info


def test_bad_input_is_a_422_counted_as_a_validation_error(
    client: TestClient, txn: dict[str, float], scrape: Callable[[TestClient], Samples]
) -> None:
    assert client.post("/predict", json={**txn, "hour": 25}).status_code == 422
    assert client.post("/predict", json={"amount": 1}).status_code == 422
    response = client.post(
        "/predict", content=b"not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    m = scrape(client)
    assert m["modelmon_prediction_errors_total"][(("type", "validation"),)] == 3
    assert m["modelmon_prediction_errors_total"][(("type", "injected"),)] == 0
    assert sum(m.get("modelmon_predictions_total", {}).values()) == 0


@pytest.mark.parametrize("value", ["1e400", "Infinity", "NaN", "-Infinity"])
def test_non_finite_inputs_are_refused_and_never_reach_the_statistics(
    client: TestClient,
    txn: dict[str, float],
    value: str,
    scrape: Callable[[TestClient], Samples],
) -> None:
    client.post("/predict", json=txn)
    body = json.dumps(txn).replace('"amount": 80.0', f'"amount": {value}')
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "amount"]
    assert error["type"] in {"finite_number", "less_than_equal", "greater_than_equal"}
    m = scrape(client)
    for family in ("modelmon_feature_mean", "modelmon_feature_stddev"):
        assert all(math.isfinite(v) for v in m[family].values()), family


def test_psi_sees_drift_that_normal_traffic_does_not_have(
    model: FraudModel, scrape: Callable[[TestClient], Samples]
) -> None:
    """PSI against the training deciles, exported once the window holds enough rows: low for
    traffic from the training distribution, high for drifted traffic."""
    for drift, low in ((0.0, True), (0.8, False)):
        with TestClient(create_app(ModelmonSettings(window=400), model)) as client:
            rows, _ = generate(300, seed=5, drift=drift)
            for row in rows:
                fields = dict(zip(FEATURES, row.tolist(), strict=True))
                fields["txn_last_hour"], fields["hour"] = int(row[2]), int(row[3])
                assert client.post("/predict", json=fields).status_code == 200
            values = scrape(client)["modelmon_feature_psi"]
        worst = max(values.values())
        assert (worst < 0.1) if low else (worst > 0.25), (drift, values)


def test_no_psi_from_a_window_too_small_to_mean_anything(
    client: TestClient, txn: dict[str, float], scrape: Callable[[TestClient], Samples]
) -> None:
    for _ in range(5):
        client.post("/predict", json=txn)
    assert "modelmon_feature_psi" not in scrape(client)


def test_delayed_labels_give_online_accuracy(
    client: TestClient, txn: dict[str, float], scrape: Callable[[TestClient], Samples]
) -> None:
    ids = [client.post("/predict", json=txn).json() for _ in range(4)]
    # Label two correctly and two wrongly.
    for i, p in enumerate(ids):
        truth = p["is_fraud"] if i < 2 else not p["is_fraud"]
        assert client.post(
            "/feedback", json={"prediction_id": p["prediction_id"], "is_fraud": truth}
        ).json()["correct"] is (i < 2)
    again = {"prediction_id": ids[0]["prediction_id"], "is_fraud": True}
    assert client.post("/feedback", json=again).status_code == 404  # a label counts once
    assert (
        client.post("/feedback", json={"prediction_id": "nope", "is_fraud": True}).status_code
        == 404
    )
    m = scrape(client)
    version = (("model_version", "1.0.0"),)
    assert m["modelmon_online_accuracy"][version] == 0.5
    assert m["modelmon_online_labelled_predictions"][version] == 4
    assert m["modelmon_feedback_total"][(("outcome", "correct"),)] == 2
    assert m["modelmon_feedback_total"][(("outcome", "wrong"),)] == 2
    assert m["modelmon_feedback_total"][(("outcome", "unknown_id"),)] == 2
    assert m["modelmon_feedback_delay_seconds_count"][()] == 4
    assert m["modelmon_pending_predictions"][()] == 0


def test_feature_statistics_and_out_of_range_share(
    client: TestClient,
    model: FraudModel,
    txn: dict[str, float],
    scrape: Callable[[TestClient], Samples],
) -> None:
    high = model.ranges["amount"][1] * 10
    client.post("/predict", json=txn)
    client.post("/predict", json={**txn, "amount": high})
    m = scrape(client)
    assert m["modelmon_feature_mean"][(("feature", "amount"),)] == pytest.approx((80 + high) / 2)
    assert m["modelmon_feature_out_of_range_ratio"][(("feature", "amount"),)] == 0.5
    assert m["modelmon_feature_out_of_range_ratio"][(("feature", "hour"),)] == 0.0
    assert m["modelmon_online_positive_rate"][(("model_version", "1.0.0"),)] in (0.0, 0.5, 1.0)


def test_pending_predictions_are_bounded_oldest_first(
    client: TestClient, txn: dict[str, float], scrape: Callable[[TestClient], Samples]
) -> None:
    ids = [client.post("/predict", json=txn).json()["prediction_id"] for _ in range(120)]
    assert scrape(client)["modelmon_pending_predictions"][()] == 100
    assert (
        client.post("/feedback", json={"prediction_id": ids[0], "is_fraud": False}).status_code
        == 404
    )
    assert (
        client.post("/feedback", json={"prediction_id": ids[-1], "is_fraud": False}).status_code
        == 200
    )


def test_fault_injection_is_off_unless_enabled(
    client: TestClient,
    model: FraudModel,
    txn: dict[str, float],
    scrape: Callable[[TestClient], Samples],
) -> None:
    assert client.post("/admin/faults", json={"error_rate": 1}).status_code == 403
    with TestClient(create_app(ModelmonSettings(faults=True), model)) as faulty:
        assert faulty.post("/admin/faults", json={"error_rate": 1.0}).status_code == 200
        assert faulty.post("/predict", json=txn).status_code == 503
        assert scrape(faulty)["modelmon_prediction_errors_total"][(("type", "injected"),)] == 1
        assert faulty.post("/admin/faults", json={"error_rate": 2}).status_code == 422


def test_exported_names_are_exactly_what_a_scrape_shows(
    model: FraudModel, txn: dict[str, float], scrape: Callable[[TestClient], Samples]
) -> None:
    with TestClient(create_app(ModelmonSettings(window=2 * PSI_MIN_ROWS), model)) as client:
        for _ in range(PSI_MIN_ROWS):  # enough rows for every scrape-time family
            p = client.post("/predict", json=txn).json()
        client.post("/feedback", json={"prediction_id": p["prediction_id"], "is_fraud": False})
        scraped_names = scrape(client)
    families = {
        name.removesuffix("_bucket")
        .removesuffix("_count")
        .removesuffix("_sum")
        .removesuffix("_created")
        for name in scraped_names
    }
    families = {f for f in families if f.startswith("modelmon_")}
    exported = {e.removesuffix("_total") if e.endswith("_total") else e for e in EXPORTED}
    scraped = {f.removesuffix("_total") for f in families}
    assert scraped == exported
