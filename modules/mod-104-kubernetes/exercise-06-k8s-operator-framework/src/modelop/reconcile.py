"""Level-triggered reconciliation: make the children match the MLModel, whatever state they
are in, and report how it went. Running it twice changes nothing the second time.

For each child: missing → create it (owned by the MLModel); present → adopt it if it lacks the
owner reference (an operator that died between create and patch leaves such orphans) and patch
the fields the operator owns when they drifted. A child the spec no longer wants (the HPA when
autoscaling is turned off) is deleted. With autoscaling on, the HPA owns the replica count, so
the Deployment's ``replicas`` is set only when it is off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from modelop import children
from modelop.spec import MLModelSpec

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What one reconciliation did."""

    created: list[str] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.patched or self.adopted or self.deleted)


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _owned(existing: dict[str, Any], owner_uid: str) -> bool:
    refs = existing.get("metadata", {}).get("ownerReferences") or []
    return any(r.get("uid") == owner_uid for r in refs)


class Api:
    """The three kinds of children, read and written as plain dicts."""

    def __init__(self, api_client: client.ApiClient | None = None) -> None:
        self.apps = client.AppsV1Api(api_client)
        self.core = client.CoreV1Api(api_client)
        self.autoscaling = client.AutoscalingV2Api(api_client)
        self._sanitize: Callable[[Any], dict[str, Any]] = (
            api_client or client.ApiClient()
        ).sanitize_for_serialization

    def _call(self, kind: str, verb: str, *args: Any) -> dict[str, Any] | None:
        methods: dict[tuple[str, str], Callable[..., Any]] = {
            ("Deployment", "read"): self.apps.read_namespaced_deployment,
            ("Deployment", "create"): self.apps.create_namespaced_deployment,
            ("Deployment", "patch"): self.apps.patch_namespaced_deployment,
            ("Deployment", "delete"): self.apps.delete_namespaced_deployment,
            ("Service", "read"): self.core.read_namespaced_service,
            ("Service", "create"): self.core.create_namespaced_service,
            ("Service", "patch"): self.core.patch_namespaced_service,
            ("Service", "delete"): self.core.delete_namespaced_service,
            (
                "HorizontalPodAutoscaler",
                "read",
            ): self.autoscaling.read_namespaced_horizontal_pod_autoscaler,
            (
                "HorizontalPodAutoscaler",
                "create",
            ): self.autoscaling.create_namespaced_horizontal_pod_autoscaler,
            (
                "HorizontalPodAutoscaler",
                "patch",
            ): self.autoscaling.patch_namespaced_horizontal_pod_autoscaler,
            (
                "HorizontalPodAutoscaler",
                "delete",
            ): self.autoscaling.delete_namespaced_horizontal_pod_autoscaler,
        }
        method = methods[(kind, verb)]
        try:
            result = method(*args)
        except ApiException as exc:
            if exc.status == 404 and verb in ("read", "delete"):
                return None
            raise
        return self._sanitize(result) if result is not None else None

    def read(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        return self._call(kind, "read", name, namespace)

    def create(self, manifest: dict[str, Any]) -> dict[str, Any] | None:
        return self._call(manifest["kind"], "create", manifest["metadata"]["namespace"], manifest)

    def patch(self, kind: str, name: str, namespace: str, body: dict[str, Any]) -> None:
        self._call(kind, "patch", name, namespace, body)

    def delete(self, kind: str, name: str, namespace: str) -> bool:
        return self._call(kind, "delete", name, namespace) is not None


def _drift(desired: dict[str, Any], existing: dict[str, Any]) -> dict[str, Any]:
    """The parts of ``desired`` that ``existing`` does not match (a merge patch), or {}."""
    patch: dict[str, Any] = {}
    if desired["kind"] == "Deployment":
        want, have = desired["spec"], existing.get("spec", {})
        if "replicas" in want and want["replicas"] != have.get("replicas"):
            patch.setdefault("spec", {})["replicas"] = want["replicas"]
        if want["template"] != _subset(have.get("template", {}), want["template"]):
            patch.setdefault("spec", {})["template"] = want["template"]
        if want["strategy"] != have.get("strategy"):
            patch.setdefault("spec", {})["strategy"] = want["strategy"]
    elif desired["spec"] != _subset(existing.get("spec", {}), desired["spec"]):
        patch["spec"] = desired["spec"]
    want_labels = desired["metadata"].get("labels", {})
    have_labels = existing.get("metadata", {}).get("labels") or {}
    if any(have_labels.get(k) != v for k, v in want_labels.items()):
        patch.setdefault("metadata", {})["labels"] = want_labels
    return patch


def _subset(have: Any, want: Any) -> Any:
    """``have`` restricted to the keys ``want`` has (server defaults are not drift)."""
    if isinstance(want, dict) and isinstance(have, dict):
        return {k: _subset(have.get(k), v) for k, v in want.items()}
    if isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        return [_subset(h, w) for h, w in zip(have, want, strict=True)]
    return have


def desired_children(owner: dict[str, Any], spec: MLModelSpec) -> list[dict[str, Any]]:
    name, namespace = owner["metadata"]["name"], owner["metadata"]["namespace"]
    wanted = [children.deployment(name, namespace, spec), children.service(name, namespace, spec)]
    hpa = children.hpa(name, namespace, spec)
    if hpa is not None:
        wanted.append(hpa)
        del wanted[0]["spec"]["replicas"]  # the HPA owns the replica count
    ref = owner_reference(owner)
    for manifest in wanted:
        manifest["metadata"]["ownerReferences"] = [ref]
    return wanted


def reconcile(api: Api, owner: dict[str, Any], spec: MLModelSpec) -> Outcome:
    """Converge the children of ``owner`` (an MLModel body) to ``spec``."""
    outcome = Outcome()
    namespace = owner["metadata"]["namespace"]
    uid = owner["metadata"]["uid"]
    wanted = desired_children(owner, spec)
    for desired in wanted:
        kind, name = desired["kind"], desired["metadata"]["name"]
        existing = api.read(kind, name, namespace)
        label = f"{kind}/{name}"
        if existing is None:
            try:
                api.create(desired)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                existing = api.read(kind, name, namespace)  # created meanwhile: converge it
            else:
                outcome.created.append(label)
                continue
        if existing is None:
            continue
        body = _drift(desired, existing)
        if not _owned(existing, uid):
            body.setdefault("metadata", {})["ownerReferences"] = desired["metadata"][
                "ownerReferences"
            ]
            outcome.adopted.append(label)
        if body:
            api.patch(kind, name, namespace, body)
            if label not in outcome.adopted or len(body) > 1 or "spec" in body:
                outcome.patched.append(label)
    if not any(d["kind"] == "HorizontalPodAutoscaler" for d in wanted):
        name = owner["metadata"]["name"]
        existing = api.read("HorizontalPodAutoscaler", name, namespace)
        if existing is not None and _owned(existing, uid):
            api.delete("HorizontalPodAutoscaler", name, namespace)
            outcome.deleted.append(f"HorizontalPodAutoscaler/{name}")
    return outcome


def delete_children(api: Api, owner: dict[str, Any]) -> list[str]:
    """Delete the children this MLModel owns (a real cluster's garbage collector would do it
    from the owner references; the emulator has none, and an explicit delete is harmless)."""
    name, namespace = owner["metadata"]["name"], owner["metadata"]["namespace"]
    uid = owner["metadata"]["uid"]
    gone = []
    for kind, child in (
        ("Deployment", f"{name}-predictor"),
        ("Service", name),
        ("HorizontalPodAutoscaler", name),
    ):
        existing = api.read(kind, child, namespace)
        if existing is not None and _owned(existing, uid) and api.delete(kind, child, namespace):
            gone.append(f"{kind}/{child}")
    return gone
