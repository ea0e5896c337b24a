"""Registry and promotion on the real server: gates, aliases, rollback, both flavors."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from exptrack import registry
from exptrack.data import Dataset, load_dataset
from exptrack.errors import ExptrackError, GateRefusedError
from exptrack.models import ModelSpec
from exptrack.predict import predict
from exptrack.server import connect
from exptrack.train import RunResult, train_run
from mlflow import MlflowClient

pytestmark = pytest.mark.integration

LOOSE = registry.GateConfig(min_accuracy=0.8, min_f1=0.8, tolerance=0.0)


def _train(kind: str, params: str, data: Dataset) -> RunResult:
    return train_run(ModelSpec.parse(kind, params), data)


@pytest.fixture(scope="module")
def runs(tracking_uri: str, data: Dataset) -> dict[str, RunResult]:
    """A mediocre model, a worse one and a better one (held-out F1 ~0.92, ~0.90, ~0.97)."""
    connect(tracking_uri, "registry-tests")
    return {
        "mediocre": _train("forest", "n_estimators=10,max_depth=1", data),
        "worse": _train("logreg", "alpha=5,epochs=1", data),
        "better": _train("gbm", "n_estimators=60", data),
    }


def _champion(client: MlflowClient, name: str) -> str | None:
    mv = registry.alias_version(client, name, registry.CHAMPION)
    return None if mv is None else str(mv.version)


def test_gates_refuse_worse_promote_better_and_rollback(
    runs: dict[str, RunResult], model_name: str
) -> None:
    client = MlflowClient()
    v1 = str(registry.register(client, model_name, runs["mediocre"].run_id).version)
    first = registry.promote(client, model_name, v1, LOOSE)
    assert first.promoted
    assert first.previous is None
    assert _champion(client, model_name) == v1

    # A worse challenger: refused, with the reason, and the champion does not move.
    v2 = str(registry.register(client, model_name, runs["worse"].run_id).version)
    with pytest.raises(GateRefusedError) as refused:
        registry.promote(client, model_name, v2, LOOSE)
    assert any(r.startswith("vs_champion: held-out f1") for r in refused.value.reasons)
    assert _champion(client, model_name) == v1
    mv2 = client.get_model_version(model_name, v2)
    assert mv2.tags["gate.status"] == "refused"
    assert mv2.tags["gate.vs_champion"].startswith("FAIL")
    assert "challenger" in mv2.aliases  # left in place for inspection

    # A better one: promoted, the old champion recorded, the challenger alias cleared.
    v3 = str(registry.register(client, model_name, runs["better"].run_id).version)
    result = registry.promote(client, model_name, v3, LOOSE)
    assert result.promoted
    assert result.previous == v1
    assert result.holdout["f1"] > result.holdout["champion_f1"]
    assert _champion(client, model_name) == v3
    assert client.get_model_version(model_name, v3).tags["promoted_from"] == v1
    assert registry.alias_version(client, model_name, registry.CHALLENGER) is None

    # Rollback: champion goes back to v1; v1 replaced nothing, so a second rollback fails.
    assert registry.rollback(client, model_name) == (v3, v1)
    assert _champion(client, model_name) == v1
    with pytest.raises(ExptrackError, match="first champion"):
        registry.rollback(client, model_name)


def test_thresholds_refuse_even_without_champion(
    runs: dict[str, RunResult], model_name: str
) -> None:
    client = MlflowClient()
    v1 = str(registry.register(client, model_name, runs["worse"].run_id).version)
    strict = registry.GateConfig(min_accuracy=0.95, min_f1=0.95)
    with pytest.raises(GateRefusedError) as refused:
        registry.promote(client, model_name, v1, strict)
    assert [r.split(":")[0] for r in refused.value.reasons] == ["min_accuracy", "min_f1"]
    assert _champion(client, model_name) is None


def test_signature_gate_refuses_a_different_input_contract(
    experiment: str, data: Dataset, model_name: str
) -> None:
    client = MlflowClient()
    full = _train("logreg", "epochs=20", data)
    few = train_run(
        ModelSpec.parse("logreg", "epochs=20"),
        load_dataset(features=[f for f in data.features if not f.startswith("worst_")]),
    )
    registry.promote(
        client, model_name, str(registry.register(client, model_name, full.run_id).version), LOOSE
    )
    v2 = str(registry.register(client, model_name, few.run_id).version)
    with pytest.raises(GateRefusedError) as refused:
        registry.promote(client, model_name, v2, registry.GateConfig(0.5, 0.5, tolerance=1.0))
    assert [r.split(":")[0] for r in refused.value.reasons] == ["signature"]
    assert "drops input(s) worst_radius" in refused.value.reasons[0]


def test_register_is_idempotent_and_best_run_is_the_top_metric(
    runs: dict[str, RunResult], model_name: str
) -> None:
    client = MlflowClient()
    a = registry.register(client, model_name, runs["better"].run_id)
    b = registry.register(client, model_name, runs["better"].run_id)
    assert a.version == b.version
    assert a.tags["data_hash"] == client.get_run(a.run_id).data.tags["data_hash"]
    top = max(runs.values(), key=lambda r: r.metrics["val_f1"])
    assert registry.best_run_id(client, "registry-tests", "val_f1") == top.run_id
    with pytest.raises(ExptrackError, match="unknown experiment"):
        registry.best_run_id(client, "no-such-experiment")


@pytest.mark.parametrize(("kind", "params"), [("gbm", "n_estimators=30"), ("mlp", "epochs=10")])
def test_champion_predicts_through_pyfunc_and_native_flavor(
    experiment: str, data: Dataset, model_name: str, kind: str, params: str
) -> None:
    client = MlflowClient()
    run = _train(kind, params, data)
    version = str(registry.register(client, model_name, run.run_id).version)
    registry.promote(client, model_name, version, LOOSE)
    x = data.holdout
    generic = predict(model_name, x, flavor="pyfunc")
    native = predict(model_name, x, flavor="native")
    assert generic.shape == (len(x),)
    np.testing.assert_array_equal(generic.astype(int), native.astype(int))
    assert np.mean(generic == x["target"].to_numpy()) > 0.85
    info = mlflow.models.get_model_info(f"models:/{model_name}@champion")
    assert ("pytorch" if kind == "mlp" else "sklearn") in info.flavors


def test_predict_errors_are_plain(
    runs: dict[str, RunResult], model_name: str, data: Dataset
) -> None:
    client = MlflowClient()
    registry.register(client, model_name, runs["better"].run_id)
    with pytest.raises(ExptrackError, match="has no alias 'champion'"):
        predict(model_name, data.holdout)
    with pytest.raises(ExptrackError, match="not found"):
        predict("no-such-model", data.holdout)
    registry.promote(client, model_name, "1", LOOSE)
    with pytest.raises(ExptrackError, match="input lacks 1 column"):
        predict(model_name, data.holdout.drop(columns=["mean_area"]))
