"""One Kubernetes API emulator per session (the shared ``k8s`` launcher), the CRD applied."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kopf.testing import KopfRunner
from kubernetes import client
from trainop.kube import Api
from trainop.spec import GROUP, PLURAL, VERSION, crd_manifest

from aiinfra_shared.operators import eventually
from aiinfra_shared.services import RunningService

os.environ["TRAINOP_POLL_INTERVAL"] = "0.3"  # read when the handlers module is imported


@pytest.fixture(scope="session")
def cluster(k8s_client: RunningService) -> RunningService:
    """The emulator (``KUBECONFIG`` set by the shared plugin) with the CRD created."""
    client.ApiextensionsV1Api().create_custom_resource_definition(crd_manifest())
    return k8s_client


@pytest.fixture
def namespace(cluster: RunningService, k8s_namespace: str) -> str:
    """A fresh namespace for this test (the operator watches it)."""
    return k8s_namespace


@pytest.fixture
def make_runner(namespace: str, kopf_operator: Callable[..., Any]) -> Callable[[], Any]:
    """A fresh operator for the test's namespace, as a context manager (to stop and start it)."""
    return lambda: kopf_operator("trainop.handlers", namespace)


@pytest.fixture
def operator(namespace: str, kopf_operator: Callable[..., Any]) -> Iterator[KopfRunner]:
    """The real operator (``kopf run``) in a thread, watching the test's namespace."""
    with kopf_operator("trainop.handlers", namespace) as runner:
        yield runner


class Kube:
    """MLTrainingJobs in one namespace, the Jobs' status driven by hand, waiting helpers."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.api = Api()

    def create(self, name: str, **spec: Any) -> dict[str, Any]:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "MLTrainingJob",
            "metadata": {"name": name},
            "spec": {"image": "aiinfra/ddptrain:0.1.0", "command": ["ddptrain", "train"], **spec},
        }
        return self.api.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, body
        )

    def get(self, name: str) -> dict[str, Any]:
        return self.api.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name
        )

    def status(self, name: str) -> dict[str, Any]:
        return self.get(name).get("status") or {}

    def delete(self, name: str) -> None:
        self.api.custom.delete_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name
        )

    def child(self, kind: str, name: str) -> dict[str, Any] | None:
        return self.api.read(kind, name, self.namespace)

    def finish(self, job: str, *, ok: bool, reason: str = "") -> None:
        """Play the Job controller: mark a Job complete or failed (the emulator runs none)."""
        cond = {"type": "Complete" if ok else "Failed", "status": "True"}
        if reason:
            cond["reason"] = reason
        self.api.batch.patch_namespaced_job_status(
            job, self.namespace, {"status": {"conditions": [cond], "failed": 0 if ok else 1}}
        )

    def events(self, name: str) -> list[str]:
        items = client.CoreV1Api().list_namespaced_event(self.namespace).items
        return [f"{e.reason}: {e.message}" for e in items if e.involved_object.name == name]

    eventually = staticmethod(eventually)


@pytest.fixture
def kube(namespace: str) -> Kube:
    return Kube(namespace)
