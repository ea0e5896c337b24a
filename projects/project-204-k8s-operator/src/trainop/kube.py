"""The API calls the operator makes, on plain dicts (create, read, patch, delete by kind)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from trainop.spec import GROUP, PLURAL, QUOTA_ANNOTATION, VERSION


class Api:
    """ConfigMaps, PVCs, Services, Jobs and ResourceQuotas, read and written as dicts."""

    def __init__(self) -> None:
        self.core = client.CoreV1Api()
        self.batch = client.BatchV1Api()
        self.custom = client.CustomObjectsApi()
        self._sanitize: Callable[[Any], Any] = client.ApiClient().sanitize_for_serialization
        self._methods = {
            "ConfigMap": ("config_map", self.core),
            "PersistentVolumeClaim": ("persistent_volume_claim", self.core),
            "Service": ("service", self.core),
            "Job": ("job", self.batch),
        }

    def _method(self, verb: str, kind: str) -> Any:
        suffix, api = self._methods[kind]
        return getattr(api, f"{verb}_namespaced_{suffix}")

    def read(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        try:
            return cast(dict[str, Any], self._sanitize(self._method("read", kind)(name, namespace)))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def create(self, manifest: dict[str, Any]) -> None:
        self._method("create", manifest["kind"])(manifest["metadata"]["namespace"], manifest)

    def ensure(self, manifest: dict[str, Any]) -> bool:
        """Create unless it exists (children are immutable here). True when created."""
        meta = manifest["metadata"]
        if self.read(manifest["kind"], meta["name"], meta["namespace"]) is not None:
            return False
        try:
            self.create(manifest)
        except ApiException as exc:
            if exc.status == 409:  # created meanwhile by another handler of ours: fine
                return False
            raise
        return True

    def delete(self, kind: str, name: str, namespace: str) -> bool:
        try:
            self._method("delete", kind)(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def training_jobs(self, namespace: str) -> list[dict[str, Any]]:
        """The namespace's MLTrainingJobs, as dicts."""
        listing = self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
        return list(cast(dict[str, Any], listing).get("items", []))

    def training_job(self, name: str, namespace: str) -> dict[str, Any]:
        """One MLTrainingJob, as a dict."""
        body = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        return cast(dict[str, Any], body)

    def list_jobs(self, namespace: str, owner: str) -> list[dict[str, Any]]:
        items = self.batch.list_namespaced_job(namespace).items
        found = [self._sanitize(j) for j in items]
        return [
            j
            for j in found
            if j["metadata"].get("labels", {}).get("app.kubernetes.io/name") == owner
        ]

    def gpu_quota(self, namespace: str) -> int | None:
        """The namespace's GPU budget: a ResourceQuota's ``requests.nvidia.com/gpu``, else the
        namespace annotation ``ml.aiinfra.dev/gpu-quota``; None when neither is set."""
        for quota in self.core.list_namespaced_resource_quota(namespace).items:
            hard = (quota.spec.hard or {}) if quota.spec else {}
            if "requests.nvidia.com/gpu" in hard:
                return int(hard["requests.nvidia.com/gpu"])
        ns = self.core.read_namespace(namespace)
        annotations = (ns.metadata.annotations if ns.metadata else None) or {}
        value = annotations.get(QUOTA_ANNOTATION)
        return int(value) if value is not None else None
