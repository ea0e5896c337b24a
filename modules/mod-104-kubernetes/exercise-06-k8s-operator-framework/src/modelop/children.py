"""The children of an MLModel, as plain functions from (name, namespace, spec) to manifests.

Everything the operator creates is computed here, so it can be unit-tested without an API
server, and the reconciler only compares and applies. Labels: ``app.kubernetes.io/name`` is
the MLModel's name, ``app.kubernetes.io/managed-by: modelop``, ``ml.aiinfra.dev/version`` the
model version (the Deployment's pod template carries it, so a version change rolls pods).
"""

from __future__ import annotations

from typing import Any

from modelop.spec import MLModelSpec

MANAGED_BY = "modelop"


def labels(name: str, spec: MLModelSpec | None = None) -> dict[str, str]:
    out = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": "predictor",
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if spec is not None:
        out["ml.aiinfra.dev/version"] = spec.version
    return out


def selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "predictor"}


def deployment(name: str, namespace: str, spec: MLModelSpec) -> dict[str, Any]:
    """The predictor Deployment: the model server image, the model URI and version as env."""
    strategy: dict[str, Any] = {"type": spec.rollout.strategy}
    if spec.rollout.strategy == "RollingUpdate":
        strategy["rollingUpdate"] = {
            "maxSurge": _int_or_str(spec.rollout.maxSurge),
            "maxUnavailable": _int_or_str(spec.rollout.maxUnavailable),
        }
    probe = {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": f"{name}-predictor",
            "namespace": namespace,
            "labels": labels(name, spec),
        },
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": selector(name)},
            "strategy": strategy,
            "template": {
                "metadata": {"labels": labels(name, spec)},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                    "containers": [
                        {
                            "name": "predictor",
                            "image": spec.image,
                            "ports": [{"name": "http", "containerPort": spec.port}],
                            "env": [
                                {"name": "MODEL_URI", "value": spec.modelUri},
                                {"name": "MODEL_VERSION", "value": spec.version},
                            ],
                            "resources": {
                                "requests": {
                                    "cpu": spec.resources.cpu,
                                    "memory": spec.resources.memory,
                                },
                                "limits": {
                                    "cpu": spec.resources.cpuLimit,
                                    "memory": spec.resources.memoryLimit,
                                },
                            },
                            "readinessProbe": probe,
                            "livenessProbe": {**probe, "initialDelaySeconds": 15},
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }
                    ],
                },
            },
        },
    }


def service(name: str, namespace: str, spec: MLModelSpec) -> dict[str, Any]:
    """A ClusterIP Service on port 80 in front of the predictor pods."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(name)},
        "spec": {
            "type": "ClusterIP",
            "selector": selector(name),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def hpa(name: str, namespace: str, spec: MLModelSpec) -> dict[str, Any] | None:
    """The HorizontalPodAutoscaler (autoscaling/v2, CPU), or None when autoscaling is off."""
    if not spec.autoscaling.enabled:
        return None
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(name)},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": f"{name}-predictor",
            },
            "minReplicas": spec.autoscaling.minReplicas,
            "maxReplicas": spec.autoscaling.maxReplicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": spec.autoscaling.targetCPUUtilization,
                        },
                    },
                }
            ],
        },
    }


def _int_or_str(value: str) -> int | str:
    return value if value.endswith("%") else int(value)
