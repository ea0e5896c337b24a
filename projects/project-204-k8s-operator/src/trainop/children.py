"""The children of an MLTrainingJob, as plain functions (unit-tested without an API server).

- ConfigMap ``<name>-hparams``: the hyperparameters as ``hyperparameters.json`` (mounted at
  ``/etc/trainop``) and as ``HP_<NAME>`` environment variables.
- PersistentVolumeClaim ``<name>-checkpoints``: survives retries (and, with
  ``cleanupPolicy: Keep``, the job itself).
- headless Service ``<name>``: stable DNS for the workers (``<job>-<index>.<name>``).
- an Indexed Job ``<name>-attempt-<n>`` per attempt: ``workers`` pods, each with ``RANK`` (its
  completion index), ``WORLD_SIZE``, ``MASTER_ADDR`` (pod 0's DNS name) and ``MASTER_PORT``, GPU
  requests and a toleration for GPU nodes. Its own ``backoffLimit`` is 0: the operator decides
  on retries (with exponential backoff), so each attempt is a fresh Job.
"""

from __future__ import annotations

import json
import re
from typing import Any

from trainop.spec import MLTrainingJobSpec

MANAGED_BY = "trainop"
MASTER_PORT = 29500


def labels(name: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": "training",
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def job_name(name: str, attempt: int) -> str:
    return f"{name}-attempt-{attempt}"


def configmap(name: str, namespace: str, spec: MLTrainingJobSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{name}-hparams", "namespace": namespace, "labels": labels(name)},
        "data": {"hyperparameters.json": json.dumps(spec.hyperparameters, sort_keys=True)},
    }


def pvc(name: str, namespace: str, spec: MLTrainingJobSpec) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": spec.checkpoint.size}},
    }
    if spec.checkpoint.storageClassName:
        claim["storageClassName"] = spec.checkpoint.storageClassName
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": f"{name}-checkpoints", "namespace": namespace, "labels": labels(name)},
        "spec": claim,
    }


def headless_service(name: str, namespace: str, spec: MLTrainingJobSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(name)},
        "spec": {
            "clusterIP": "None",
            "selector": labels(name),
            "ports": [{"name": "rendezvous", "port": MASTER_PORT, "protocol": "TCP"}],
            "publishNotReadyAddresses": True,
        },
    }


def _env_name(key: str) -> str:
    return "HP_" + re.sub(r"[^A-Za-z0-9]", "_", key).upper()


def job(name: str, namespace: str, spec: MLTrainingJobSpec, attempt: int) -> dict[str, Any]:
    """The Indexed Job of one attempt."""
    jname = job_name(name, attempt)
    resources: dict[str, Any] = {
        "requests": {"cpu": spec.cpu, "memory": spec.memory},
        "limits": {"memory": spec.memory},
    }
    pod: dict[str, Any] = {
        "subdomain": name,  # with the headless Service: <job>-<index>.<name>.<ns>.svc
        "restartPolicy": "Never",
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
        "containers": [],
        "volumes": [
            {"name": "checkpoints", "persistentVolumeClaim": {"claimName": f"{name}-checkpoints"}},
            {"name": "hparams", "configMap": {"name": f"{name}-hparams"}},
        ],
    }
    if spec.gpusPerWorker:
        resources["requests"]["nvidia.com/gpu"] = str(spec.gpusPerWorker)  # a quantity
        resources["limits"]["nvidia.com/gpu"] = str(spec.gpusPerWorker)
        pod["tolerations"] = [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]
    env = [
        {"name": "WORLD_SIZE", "value": str(spec.workers)},
        {"name": "MASTER_ADDR", "value": f"{jname}-0.{name}.{namespace}.svc"},
        {"name": "MASTER_PORT", "value": str(MASTER_PORT)},
        {
            "name": "RANK",
            "valueFrom": {
                "fieldRef": {
                    "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"
                }
            },
        },
        {"name": "ATTEMPT", "value": str(attempt)},
        {"name": "CHECKPOINT_DIR", "value": spec.checkpoint.mountPath},
        {"name": "HPARAMS_FILE", "value": "/etc/trainop/hyperparameters.json"},
        *({"name": _env_name(k), "value": str(v)} for k, v in sorted(spec.hyperparameters.items())),
    ]
    if spec.mlflow:
        env += [
            {"name": "MLFLOW_TRACKING_URI", "value": spec.mlflow.trackingUri},
            {"name": "MLFLOW_EXPERIMENT_NAME", "value": spec.mlflow.experiment},
            {"name": "MLFLOW_RUN_NAME", "value": jname},
        ]
    pod["containers"].append(
        {
            "name": "trainer",
            "image": spec.image,
            "command": list(spec.command),
            "env": env,
            "ports": [{"name": "rendezvous", "containerPort": MASTER_PORT}],
            "resources": resources,
            "volumeMounts": [
                {"name": "checkpoints", "mountPath": spec.checkpoint.mountPath},
                {"name": "hparams", "mountPath": "/etc/trainop", "readOnly": True},
            ],
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
            },
        }
    )
    job_spec: dict[str, Any] = {
        "completionMode": "Indexed",
        "completions": spec.workers,
        "parallelism": spec.workers,
        "backoffLimit": 0,
        "template": {
            "metadata": {"labels": {**labels(name), "ml.aiinfra.dev/attempt": str(attempt)}},
            "spec": pod,
        },
    }
    if spec.activeDeadlineSeconds:
        job_spec["activeDeadlineSeconds"] = spec.activeDeadlineSeconds
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": jname,
            "namespace": namespace,
            "labels": {**labels(name), "ml.aiinfra.dev/attempt": str(attempt)},
        },
        "spec": job_spec,
    }


def backoff_seconds(spec: MLTrainingJobSpec, failed_attempt: int) -> float:
    """Wait before the next attempt: base × 2^(failed attempts - 1), capped at one hour."""
    return float(min(spec.backoffSeconds * 2 ** (failed_attempt - 1), 3600))
