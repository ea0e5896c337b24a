"""Reconciliation against the API emulator, called as a plain function (no Kopf)."""

from __future__ import annotations

from typing import Any

import pytest
from modelop.children import deployment
from modelop.reconcile import Api, reconcile
from modelop.spec import MLModelSpec, parse_spec

pytestmark = pytest.mark.integration


def _model(kube: Any, name: str, **spec: Any) -> tuple[dict[str, Any], MLModelSpec]:
    body = kube.create(name, **spec)
    parsed, problems = parse_spec(body["spec"])
    assert parsed is not None, problems
    return body, parsed


def test_reconcile_creates_the_children_once(kube: Any) -> None:
    body, spec = _model(kube, "churn", autoscaling={"enabled": False}, replicas=3)
    first = reconcile(Api(), body, spec)
    assert sorted(first.created) == ["Deployment/churn-predictor", "Service/churn"]
    versions = {k: kube.child(k, n)["metadata"]["resourceVersion"]
                for k, n in (("Deployment", "churn-predictor"), ("Service", "churn"))}  # fmt: skip
    second = reconcile(Api(), body, spec)
    assert not second.changed  # idempotent: nothing written the second time
    for kind, name in (("Deployment", "churn-predictor"), ("Service", "churn")):
        assert kube.child(kind, name)["metadata"]["resourceVersion"] == versions[kind]
    dep = kube.child("Deployment", "churn-predictor")
    assert dep["spec"]["replicas"] == 3
    (ref,) = dep["metadata"]["ownerReferences"]
    assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == (
        "MLModel", "churn", body["metadata"]["uid"], True,
    )  # fmt: skip


def test_drift_is_put_back(kube: Any) -> None:
    body, spec = _model(kube, "fraud", autoscaling={"enabled": False}, replicas=2)
    reconcile(Api(), body, spec)
    kube.api.patch("Deployment", "fraud-predictor", kube.namespace, {"spec": {"replicas": 7}})
    outcome = reconcile(Api(), body, spec)
    assert outcome.patched == ["Deployment/fraud-predictor"]
    assert kube.child("Deployment", "fraud-predictor")["spec"]["replicas"] == 2


def test_an_orphan_from_a_crash_is_adopted_not_duplicated(kube: Any) -> None:
    body, spec = _model(kube, "ltv", autoscaling={"enabled": False})
    # As if the operator died after creating the Deployment, before owning it.
    orphan = deployment("ltv", kube.namespace, spec)
    kube.api.create(orphan)
    outcome = reconcile(Api(), body, spec)
    assert outcome.adopted == ["Deployment/ltv-predictor"]
    assert outcome.created == ["Service/ltv"]
    dep = kube.child("Deployment", "ltv-predictor")
    assert dep["metadata"]["ownerReferences"][0]["uid"] == body["metadata"]["uid"]
    names = [
        d.metadata.name for d in kube.api.apps.list_namespaced_deployment(kube.namespace).items
    ]
    assert names == ["ltv-predictor"]


def test_turning_autoscaling_off_deletes_the_hpa(kube: Any) -> None:
    body, spec = _model(kube, "recs", autoscaling={"minReplicas": 2, "maxReplicas": 4})
    created = reconcile(Api(), body, spec).created
    assert "HorizontalPodAutoscaler/recs" in created
    # With the HPA in charge, the operator leaves the Deployment's replica count alone.
    assert "replicas" not in kube.child("Deployment", "recs-predictor")["spec"]
    off, _ = parse_spec({**body["spec"], "autoscaling": {"enabled": False}, "replicas": 3})
    assert off is not None
    outcome = reconcile(Api(), body, off)
    assert outcome.deleted == ["HorizontalPodAutoscaler/recs"]
    assert kube.child("HorizontalPodAutoscaler", "recs") is None
    assert kube.child("Deployment", "recs-predictor")["spec"]["replicas"] == 3


@pytest.mark.parametrize(
    ("status", "done", "why"),
    [
        ({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
          "availableReplicas": 3}, False, "not seen the new spec"),
        ({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "readyReplicas": 3,
          "availableReplicas": 3}, False, "1 of 3 replicas updated"),
        ({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "readyReplicas": 3,
          "availableReplicas": 3}, False, "1 old replicas pending termination"),
        ({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 2,
          "availableReplicas": 2}, False, "2 of 3 updated replicas available"),
        ({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
          "availableReplicas": 3}, True, None),
    ],
)  # fmt: skip
def test_rollout_status_follows_kubectl_rollout_status(
    status: dict[str, int], done: bool, why: str | None
) -> None:
    from modelop.handlers import rollout_status

    deployment = {"metadata": {"generation": 2}, "status": status}
    got_done, ready, got_why = rollout_status(deployment, 3)
    assert got_done is done
    assert ready == status["readyReplicas"]
    assert (got_why is None) if why is None else (why in (got_why or ""))
