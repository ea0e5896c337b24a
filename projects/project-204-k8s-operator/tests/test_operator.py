"""The real operator (Kopf, in a thread) against the API emulator; the tests play the Job
controller by writing the Jobs' status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from kopf.testing import KopfRunner
from kubernetes import client

pytestmark = pytest.mark.integration


def test_a_job_runs_its_children_and_succeeds_with_cleanup(kube: Any, operator: KopfRunner) -> None:
    kube.create("resnet", workers=2, gpusPerWorker=1, hyperparameters={"lr": 0.01})
    kube.eventually(lambda: kube.status("resnet").get("phase") == "Running", what="Running")
    for kind, name in (("ConfigMap", "resnet-hparams"),
                       ("PersistentVolumeClaim", "resnet-checkpoints"),
                       ("Service", "resnet"), ("Job", "resnet-attempt-1")):  # fmt: skip
        made = kube.child(kind, name)
        assert made is not None, (kind, name)
        assert made["metadata"]["ownerReferences"][0]["name"] == "resnet"
    status = kube.status("resnet")
    assert (status["attempt"], status["job"], status["gpus"]) == (1, "resnet-attempt-1", 2)

    kube.finish("resnet-attempt-1", ok=True)
    kube.eventually(lambda: kube.status("resnet").get("phase") == "Succeeded", what="Succeeded")
    # The children are deleted one after the other: wait for all of them.
    kube.eventually(
        lambda: all(
            kube.child(kind, name) is None
            for kind, name in (
                ("Job", "resnet-attempt-1"),
                ("Service", "resnet"),
                ("ConfigMap", "resnet-hparams"),
            )
        ),
        what="children cleaned up",
    )
    assert kube.child("PersistentVolumeClaim", "resnet-checkpoints") is not None  # checkpoints stay


def test_a_failed_attempt_is_retried_with_backoff_then_gives_up(
    kube: Any, operator: KopfRunner
) -> None:
    kube.create("flaky", backoffLimit=1, backoffSeconds=1, cleanupPolicy="Keep")
    kube.eventually(lambda: kube.child("Job", "flaky-attempt-1"), what="attempt 1")
    kube.finish("flaky-attempt-1", ok=False)
    retrying = kube.eventually(
        lambda: kube.status("flaky") if kube.status("flaky").get("phase") == "Retrying" else None,
        what="Retrying",
    )
    assert "retry 2 in 1 s" in retrying["message"]
    second = kube.eventually(lambda: kube.child("Job", "flaky-attempt-2"), what="attempt 2")
    # Not before the backoff (timestamps have whole seconds).
    due = datetime.strptime(retrying["nextRetryAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
    created = datetime.strptime(second["metadata"]["creationTimestamp"][:19], "%Y-%m-%dT%H:%M:%S")
    assert created >= due.replace(microsecond=0)
    assert kube.child("Job", "flaky-attempt-1") is None
    kube.eventually(lambda: kube.status("flaky").get("phase") == "Running")
    assert kube.status("flaky")["attempt"] == 2

    kube.finish("flaky-attempt-2", ok=False)
    failed = kube.eventually(
        lambda: kube.status("flaky") if kube.status("flaky").get("phase") == "Failed" else None
    )
    assert "no retries left" in failed["message"]
    assert failed["failures"] == 1
    assert kube.child("Job", "flaky-attempt-2") is not None  # cleanupPolicy: Keep
    assert any(e.startswith("AttemptFailed") for e in kube.events("flaky"))


def test_a_deadline_is_not_retried(kube: Any, operator: KopfRunner) -> None:
    kube.create("slow", activeDeadlineSeconds=60, backoffLimit=3, backoffSeconds=1)
    made = kube.eventually(lambda: kube.child("Job", "slow-attempt-1"))
    assert made["spec"]["activeDeadlineSeconds"] == 60
    kube.finish("slow-attempt-1", ok=False, reason="DeadlineExceeded")
    failed = kube.eventually(
        lambda: kube.status("slow") if kube.status("slow").get("phase") == "Failed" else None
    )
    assert "the deadline passed" in failed["message"]


def test_the_gpu_quota_refuses_then_admits(kube: Any, operator: KopfRunner) -> None:
    client.CoreV1Api().create_namespaced_resource_quota(kube.namespace, {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "gpus"},
        "spec": {"hard": {"requests.nvidia.com/gpu": "4"}},
    })  # fmt: skip
    kube.create("big", workers=2, gpusPerWorker=2)  # 4 GPUs: fits
    kube.eventually(lambda: kube.status("big").get("phase") == "Running", what="big admitted")
    kube.create("more", workers=1, gpusPerWorker=1)  # 5 > 4: refused
    refused = kube.eventually(
        lambda: kube.status("more") if kube.status("more").get("phase") == "Refused" else None
    )
    assert refused["message"] == "needs 1 GPUs; 4 of the namespace's 4 are in use"
    assert kube.child("Job", "more-attempt-1") is None
    kube.create("cpu-only", workers=3)  # no GPUs: never refused
    kube.eventually(lambda: kube.status("cpu-only").get("phase") == "Running")
    kube.finish("big-attempt-1", ok=True)
    kube.eventually(lambda: kube.status("more").get("phase") == "Running", what="admitted later")


def _quota(kube: Any, gpus: int) -> None:
    client.CoreV1Api().create_namespaced_resource_quota(kube.namespace, {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "gpus"},
        "spec": {"hard": {"requests.nvidia.com/gpu": str(gpus)}},
    })  # fmt: skip


def _job_gpus(job: dict[str, Any]) -> int:
    container = job["spec"]["template"]["spec"]["containers"][0]
    per_worker = int(container["resources"]["requests"].get("nvidia.com/gpu", 0))
    return per_worker * int(job["spec"]["parallelism"])


def test_jobs_submitted_back_to_back_cannot_both_take_the_budget(
    kube: Any, operator: KopfRunner
) -> None:
    _quota(kube, 8)
    for name in ("first", "second", "third"):  # no wait in between: Kopf handles them at once
        kube.create(name, workers=2, gpusPerWorker=4)

    def decided() -> dict[str, str] | None:
        phases = {n: kube.status(n).get("phase") for n in ("first", "second", "third")}
        return phases if all(p in ("Running", "Refused") for p in phases.values()) else None

    phases = kube.eventually(decided, what="all three decided")
    assert sorted(phases.values()) == ["Refused", "Refused", "Running"], phases
    winner = next(n for n, p in phases.items() if p == "Running")
    jobs = [j["metadata"]["name"] for j in kube.api.batch.list_namespaced_job(
        kube.namespace).to_dict()["items"]]  # fmt: skip
    assert jobs == [f"{winner}-attempt-1"]
    # The budget frees up when the winner finishes: exactly one of the others goes next.
    kube.finish(f"{winner}-attempt-1", ok=True)

    def next_admitted() -> list[str] | None:
        rest = sorted(kube.status(n).get("phase") for n in phases if n != winner)
        return rest if "Running" in rest else None

    assert kube.eventually(next_admitted, what="the next one admitted") == ["Refused", "Running"]


def test_an_edit_beyond_the_budget_is_refused_and_attempts_keep_the_admitted_spec(
    kube: Any, operator: KopfRunner
) -> None:
    _quota(kube, 8)
    kube.create("edited", workers=2, gpusPerWorker=4, backoffSeconds=1, backoffLimit=2)
    kube.eventually(lambda: kube.status("edited").get("phase") == "Running", what="Running")
    kube.api.custom.patch_namespaced_custom_object(
        "ml.aiinfra.dev", "v1alpha1", kube.namespace, "mltrainingjobs", "edited",
        {"spec": {"workers": 8, "gpusPerWorker": 8}},
    )  # fmt: skip
    refused = kube.eventually(
        lambda: kube.status("edited") if "specChange" in kube.status("edited") else None,
        what="the edit answered",
        # Under CI load a kopf request to the emulator can be dropped (ServerDisconnected)
        # and is retried with back-off: allow for that rather than fail on the first drop.
        timeout=60,
    )
    assert refused["specChange"].startswith("spec change refused (needs 64 GPUs")
    assert refused["gpus"] == 8
    kube.finish("edited-attempt-1", ok=False)
    second = kube.eventually(lambda: kube.child("Job", "edited-attempt-2"), what="attempt 2")
    assert _job_gpus(second) == 8  # not 64
    assert any(e.startswith("SpecChangeRefused") for e in kube.events("edited"))


def test_an_edit_within_the_budget_applies_from_the_next_attempt(
    kube: Any, operator: KopfRunner
) -> None:
    _quota(kube, 8)
    kube.create("grown", workers=1, gpusPerWorker=2, backoffSeconds=1, backoffLimit=2)
    kube.eventually(lambda: kube.status("grown").get("phase") == "Running", what="Running")
    kube.api.custom.patch_namespaced_custom_object(
        "ml.aiinfra.dev", "v1alpha1", kube.namespace, "mltrainingjobs", "grown",
        {"spec": {"workers": 2}},
    )  # fmt: skip
    admitted = kube.eventually(
        lambda: kube.status("grown") if "specChange" in kube.status("grown") else None,
        what="the edit answered",
        # Under CI load a kopf request to the emulator can be dropped (ServerDisconnected)
        # and is retried with back-off: allow for that rather than fail on the first drop.
        timeout=60,
    )
    assert admitted["specChange"].startswith("spec change admitted (4 GPUs)")
    assert _job_gpus(kube.child("Job", "grown-attempt-1")) == 2  # the attempt in flight stays
    kube.finish("grown-attempt-1", ok=False)
    second = kube.eventually(lambda: kube.child("Job", "grown-attempt-2"), what="attempt 2")
    assert _job_gpus(second) == 4


def test_a_namespace_annotation_sets_the_gpu_budget(kube: Any, operator: KopfRunner) -> None:
    client.CoreV1Api().patch_namespace(
        kube.namespace, {"metadata": {"annotations": {"ml.aiinfra.dev/gpu-quota": "1"}}}
    )
    kube.create("wide", workers=2, gpusPerWorker=1)
    refused = kube.eventually(
        lambda: kube.status("wide") if kube.status("wide").get("phase") == "Refused" else None
    )
    assert refused["message"] == "needs 2 GPUs; 0 of the namespace's 1 are in use"


def test_an_invalid_spec_creates_nothing(kube: Any, operator: KopfRunner) -> None:
    kube.create("bad", workers=0, gpusPerWorker=12)
    invalid = kube.eventually(
        lambda: kube.status("bad") if kube.status("bad").get("phase") == "Invalid" else None
    )
    assert "spec.workers" in invalid["message"]
    assert "spec.gpusPerWorker" in invalid["message"]
    assert kube.child("ConfigMap", "bad-hparams") is None


def test_deleting_the_job_deletes_its_children(kube: Any, operator: KopfRunner) -> None:
    kube.create("gone")
    kube.eventually(lambda: kube.child("Job", "gone-attempt-1"))
    kube.delete("gone")
    for kind, name in (("Job", "gone-attempt-1"), ("Service", "gone"),
                       ("ConfigMap", "gone-hparams"),
                       ("PersistentVolumeClaim", "gone-checkpoints")):  # fmt: skip
        kube.eventually(lambda k=kind, n=name: kube.child(k, n) is None, what=f"{kind} deleted")
    kube.eventually(lambda: not kube.api.custom.list_namespaced_custom_object(
        "ml.aiinfra.dev", "v1alpha1", kube.namespace, "mltrainingjobs")["items"])  # fmt: skip


def test_a_restarted_operator_converges_without_duplicates(
    kube: Any, make_runner: Callable[[], KopfRunner]
) -> None:
    with make_runner() as first:
        kube.create("resume", workers=2, backoffSeconds=1)
        kube.eventually(lambda: kube.child("Job", "resume-attempt-1"), what="first run")
    assert first.exception is None
    # While no operator runs: the Service is deleted and the attempt fails.
    kube.api.delete("Service", "resume", kube.namespace)
    kube.finish("resume-attempt-1", ok=False)
    with make_runner() as second:
        kube.eventually(lambda: kube.child("Service", "resume"), what="Service back")
        kube.eventually(lambda: kube.child("Job", "resume-attempt-2"), what="retried")
    assert second.exception is None
    jobs = [j["metadata"]["name"] for j in kube.api.list_jobs(kube.namespace, "resume")]
    assert jobs == ["resume-attempt-2"]
    services = kube.api.core.list_namespaced_service(kube.namespace).items
    assert [s.metadata.name for s in services] == ["resume"]
