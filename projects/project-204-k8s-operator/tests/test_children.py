"""The children's manifests and the schema, as plain functions (no API server)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from trainop.children import backoff_seconds, configmap, headless_service, job, pvc
from trainop.spec import crd_manifest, parse_spec

ROOT = Path(__file__).resolve().parents[3]
SPEC = {
    "image": "aiinfra/ddptrain:0.1.0",
    "command": ["ddptrain", "train"],
    "workers": 4,
    "gpusPerWorker": 2,
    "hyperparameters": {"lr": 0.001, "batch-size": 64},
    "mlflow": {"trackingUri": "http://mlflow.mlops:5000", "experiment": "resnet"},
}


def _spec(**overrides: object):  # type: ignore[no-untyped-def]
    spec, problems = parse_spec({**SPEC, **overrides})
    assert spec is not None, problems
    return spec


def test_the_shipped_crd_is_generated_from_the_code() -> None:
    shipped = yaml.safe_load((ROOT / "kubernetes/trainop/base/crd.yaml").read_text())
    assert shipped == crd_manifest(), "regenerate: trainop crd > kubernetes/trainop/base/crd.yaml"


def test_invalid_specs_name_every_problem() -> None:
    spec, problems = parse_spec({"image": "", "command": [], "workers": 0, "gpusPerWorker": 9})
    assert spec is None
    joined = " | ".join(problems)
    for field in ("spec.image", "spec.command", "spec.workers", "spec.gpusPerWorker"):
        assert field in joined


def test_the_indexed_job_wires_distributed_training() -> None:
    made = job("resnet", "ml", _spec(), attempt=2)
    assert made["metadata"]["name"] == "resnet-attempt-2"
    spec = made["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 4, 4)
    assert spec["backoffLimit"] == 0  # retries are the operator's, with backoff
    pod = spec["template"]["spec"]
    assert pod["subdomain"] == "resnet"
    container = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["WORLD_SIZE"] == "4"
    assert env["MASTER_ADDR"] == "resnet-attempt-2-0.resnet.ml.svc"
    assert env["MASTER_PORT"] == "29500"
    assert env["HP_LR"] == "0.001"
    assert env["HP_BATCH_SIZE"] == "64"
    assert env["MLFLOW_EXPERIMENT_NAME"] == "resnet"
    rank = next(e for e in container["env"] if e["name"] == "RANK")
    assert "job-completion-index" in rank["valueFrom"]["fieldRef"]["fieldPath"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert container["resources"]["requests"]["nvidia.com/gpu"] == "2"
    assert pod["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"checkpoints": "/checkpoints", "hparams": "/etc/trainop"}


def test_cpu_jobs_ask_for_no_gpu_and_tolerate_nothing() -> None:
    pod = job("small", "ml", _spec(gpusPerWorker=0), attempt=1)["spec"]["template"]["spec"]
    assert "nvidia.com/gpu" not in pod["containers"][0]["resources"]["limits"]
    assert "tolerations" not in pod


def test_configmap_pvc_and_headless_service() -> None:
    spec = _spec(checkpoint={"size": "50Gi", "storageClassName": "fast"})
    data = json.loads(configmap("resnet", "ml", spec)["data"]["hyperparameters.json"])
    assert data == {"batch-size": 64, "lr": 0.001}
    claim = pvc("resnet", "ml", spec)["spec"]
    assert claim["resources"]["requests"]["storage"] == "50Gi"
    assert claim["storageClassName"] == "fast"
    service = headless_service("resnet", "ml", spec)["spec"]
    assert service["clusterIP"] == "None"
    assert service["publishNotReadyAddresses"] is True


def test_backoff_doubles_per_failed_attempt() -> None:
    spec = _spec(backoffSeconds=10)
    assert [backoff_seconds(spec, a) for a in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff_seconds(_spec(backoffSeconds=3000), 5) == 3600


def test_the_shipped_sample_is_valid() -> None:
    sample = yaml.safe_load(
        (Path(__file__).parents[1] / "samples/mltrainingjob-resnet.yaml").read_text()
    )
    spec, problems = parse_spec(sample["spec"])
    assert problems == []
    assert spec is not None
    assert spec.gpus == 8


def test_the_crd_command_prints_the_shipped_crd() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "trainop", "crd"], capture_output=True, text=True, check=True
    )
    assert yaml.safe_load(done.stdout) == crd_manifest()
