"""The real operator (Kopf, in a thread) against the API emulator: what a cluster would see."""

from __future__ import annotations

from typing import Any

import pytest
from kopf.testing import KopfRunner

pytestmark = pytest.mark.integration


def _set_ready(kube: Any, name: str, ready: int, *, updated: int | None = None,
               seen: bool = True) -> None:  # fmt: skip
    """Play the Deployment controller: the emulator runs no controllers, so tests report pods.
    ``ready`` pods run, ``updated`` of them (all by default) on the newest template; ``seen``
    is whether the controller has observed the newest spec."""
    dep = kube.child("Deployment", f"{name}-predictor")
    generation = int(dep["metadata"]["generation"])
    status = {"replicas": ready, "readyReplicas": ready, "availableReplicas": ready,
              "updatedReplicas": ready if updated is None else updated,
              "observedGeneration": generation if seen else generation - 1}  # fmt: skip
    kube.api.apps.patch_namespaced_deployment_status(
        f"{name}-predictor", kube.namespace, {"status": status}
    )


def _phase(kube: Any, name: str) -> str | None:
    return (kube.get(name).get("status") or {}).get("phase")


def test_lifecycle_create_scale_roll_ready_and_delete(kube: Any, operator: KopfRunner) -> None:
    kube.create("churn", replicas=2, autoscaling={"enabled": False})
    dep = kube.eventually(lambda: kube.child("Deployment", "churn-predictor"), what="Deployment")
    assert dep["spec"]["replicas"] == 2
    assert kube.eventually(lambda: kube.child("Service", "churn"))
    assert kube.child("HorizontalPodAutoscaler", "churn") is None  # autoscaling off
    kube.eventually(lambda: _phase(kube, "churn") == "Progressing", what="Progressing")
    status = kube.get("churn")["status"]
    # hpa: None in a merge patch removes the key, as on a real API server.
    assert status["children"] == {"deployment": "churn-predictor", "service": "churn"}
    assert status["observedGeneration"] == 1

    _set_ready(kube, "churn", 2)
    kube.eventually(lambda: _phase(kube, "churn") == "Ready", what="Ready")

    kube.patch("churn", {"replicas": 4})
    kube.eventually(
        lambda: kube.child("Deployment", "churn-predictor")["spec"]["replicas"] == 4, what="scale"
    )
    kube.patch("churn", {"version": "v2"})

    def rolled() -> bool:
        template = kube.child("Deployment", "churn-predictor")["spec"]["template"]
        env = {e["name"]: e["value"] for e in template["spec"]["containers"][0]["env"]}
        return (
            env["MODEL_VERSION"] == "v2"
            and template["metadata"]["labels"]["ml.aiinfra.dev/version"] == "v2"
        )

    kube.eventually(rolled, what="rolling update")
    kube.eventually(lambda: kube.get("churn")["status"]["currentVersion"] == "v2")
    events = kube.eventually(
        lambda: (
            [e for e in kube.events("churn") if e.startswith(("RollingUpdate", "Scaled"))]
            if len([e for e in kube.events("churn") if e.startswith(("RollingUpdate", "Scaled"))])
            >= 2
            else None
        ),
        what="events",
    )
    assert "RollingUpdate: version v1 -> v2" in events
    assert "Scaled: replicas 2 -> 4" in events
    # A spec change restarts the rollout. Old pods that are still ready do not make it Ready:
    # the controller must have seen the new spec and every replica must run it.
    kube.eventually(lambda: _phase(kube, "churn") == "Progressing", what="Progressing again")
    _set_ready(kube, "churn", 4, seen=False)  # 4 old pods ready, new spec not observed
    kube.eventually(
        lambda: "not seen the new spec" in kube.get("churn")["status"].get("message", ""),
        what="waiting for the controller",
    )
    _set_ready(kube, "churn", 4, updated=2)  # half rolled: 2 new, 2 old
    kube.eventually(
        lambda: kube.get("churn")["status"].get("message") == "2 of 4 replicas updated",
        what="half rolled",
    )
    assert _phase(kube, "churn") == "Progressing"
    _set_ready(kube, "churn", 4)
    kube.eventually(lambda: _phase(kube, "churn") == "Ready", what="Ready at v2")
    _set_ready(kube, "churn", 1)
    kube.eventually(lambda: _phase(kube, "churn") == "Degraded", what="Degraded")
    assert any(e.startswith("Degraded: 1/4") for e in kube.eventually(lambda: kube.events("churn")))

    kube.delete("churn")
    # The delete handler removes the children one after the other: wait for all of them.
    kube.eventually(
        lambda: (
            kube.child("Deployment", "churn-predictor") is None
            and kube.child("Service", "churn") is None
        ),
        what="cleanup",
    )
    kube.eventually(
        lambda: (
            not kube.models.list_namespaced_custom_object(
                "ml.aiinfra.dev", "v1alpha1", kube.namespace, "mlmodels"
            )["items"]
        ),
        what="finalizer released",
    )


def test_autoscaling_creates_an_hpa_that_owns_the_replica_count(
    kube: Any, operator: KopfRunner
) -> None:
    kube.create(
        "recs", autoscaling={"minReplicas": 2, "maxReplicas": 6, "targetCPUUtilization": 60}
    )
    made = kube.eventually(lambda: kube.child("HorizontalPodAutoscaler", "recs"), what="HPA")
    assert (made["spec"]["minReplicas"], made["spec"]["maxReplicas"]) == (2, 6)
    metric = made["spec"]["metrics"][0]["resource"]["target"]
    assert metric["averageUtilization"] == 60
    assert "replicas" not in kube.child("Deployment", "recs-predictor")["spec"]


def test_an_invalid_spec_is_reported_in_status_and_the_operator_keeps_going(
    kube: Any, operator: KopfRunner
) -> None:
    kube.create("bad", modelUri="ftp://nowhere", autoscaling={"minReplicas": 4, "maxReplicas": 2})
    kube.eventually(lambda: _phase(kube, "bad") == "Invalid", what="Invalid")
    (valid,) = kube.get("bad")["status"]["conditions"]
    assert valid["type"] == "Valid"
    assert valid["status"] == "False"
    assert "spec.modelUri" in valid["message"]
    assert "minReplicas (4) > maxReplicas (2)" in valid["message"]
    assert kube.child("Deployment", "bad-predictor") is None
    assert any(e.startswith("InvalidSpec:") for e in kube.eventually(lambda: kube.events("bad")))
    # Fixing the spec converges.
    kube.patch("bad", {"modelUri": "s3://models/bad", "autoscaling": {"minReplicas": 1}})
    kube.eventually(lambda: kube.child("Deployment", "bad-predictor"), what="fixed")
    kube.eventually(lambda: _phase(kube, "bad") in ("Progressing", "Ready"))


def test_a_restarted_operator_converges_without_duplicates(kube: Any, namespace: str) -> None:
    args = ["run", "--standalone", "--namespace", namespace, "-m", "modelop.handlers"]
    with KopfRunner(args, timeout=60) as first:
        kube.create("ltv", autoscaling={"enabled": False}, replicas=1)
        kube.eventually(lambda: kube.child("Service", "ltv"), what="first run's children")
    assert first.exception is None
    # While no operator runs: the spec changes and someone deletes the Service.
    kube.patch("ltv", {"replicas": 3})
    kube.api.delete("Service", "ltv", namespace)
    with KopfRunner(args, timeout=60) as second:
        kube.eventually(lambda: kube.child("Service", "ltv"), what="Service back")
        kube.eventually(
            lambda: kube.child("Deployment", "ltv-predictor")["spec"]["replicas"] == 3,
            what="replicas applied",
        )
    assert second.exception is None
    deployments = kube.api.apps.list_namespaced_deployment(namespace).items
    services = kube.api.core.list_namespaced_service(namespace).items
    assert [d.metadata.name for d in deployments] == ["ltv-predictor"]
    assert [s.metadata.name for s in services] == ["ltv"]


def test_drift_behind_the_operators_back_is_repaired(kube: Any, operator: KopfRunner) -> None:
    kube.create("eta", autoscaling={"enabled": False}, replicas=2)
    # Wait until Kopf has finished the creation handlers (it then records the handled spec),
    # so the repair below can only come from the periodic reconcile.
    kube.eventually(
        lambda: (
            "kopf.zalando.org/last-handled-configuration"
            in (kube.get("eta")["metadata"].get("annotations") or {})
        ),
        what="creation handled",
    )
    kube.eventually(lambda: kube.child("Service", "eta"), what="Service")
    kube.api.delete("Service", "eta", kube.namespace)
    kube.api.patch("Deployment", "eta-predictor", kube.namespace, {"spec": {"replicas": 9}})
    kube.eventually(lambda: kube.child("Service", "eta"), what="Service recreated")
    kube.eventually(
        lambda: kube.child("Deployment", "eta-predictor")["spec"]["replicas"] == 2, what="replicas"
    )
    assert kube.eventually(
        lambda: [e for e in kube.events("eta") if e.startswith("DriftRepaired")], what="event"
    )
