"""One Kubernetes API emulator per session (the shared ``k8s`` launcher), the CRD applied."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kopf.testing import KopfRunner
from kubernetes import client
from modelop.reconcile import Api
from modelop.spec import GROUP, PLURAL, VERSION, crd_manifest

from aiinfra_shared.operators import eventually
from aiinfra_shared.services import RunningService

os.environ["MODELOP_HEALTH_INTERVAL"] = "0.5"  # read when the handlers module is imported


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
def operator(namespace: str, kopf_operator: Callable[..., Any]) -> Iterator[KopfRunner]:
    """The real operator (``kopf run``) in a thread, watching the test's namespace."""
    with kopf_operator("modelop.handlers", namespace) as runner:
        yield runner


class Kube:
    """What the tests do to the API: MLModels in one namespace, and waiting for the operator."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.models = client.CustomObjectsApi()
        self.api = Api()

    def create(self, name: str, **spec: Any) -> dict[str, Any]:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "MLModel",
            "metadata": {"name": name},
            "spec": {"modelUri": f"s3://models/{name}", "version": "v1", **spec},
        }
        return self.models.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, body
        )

    def get(self, name: str) -> dict[str, Any]:
        return self.models.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name
        )

    def patch(self, name: str, spec: dict[str, Any]) -> None:
        self.models.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name, {"spec": spec}
        )

    def delete(self, name: str) -> None:
        self.models.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)

    def child(self, kind: str, name: str) -> dict[str, Any] | None:
        return self.api.read(kind, name, self.namespace)

    def events(self, name: str) -> list[str]:
        items = client.CoreV1Api().list_namespaced_event(self.namespace).items
        return [f"{e.reason}: {e.message}" for e in items if e.involved_object.name == name]

    eventually = staticmethod(eventually)


@pytest.fixture
def kube(namespace: str) -> Kube:
    return Kube(namespace)
