"""``trainop demo`` (what ``aiinfra run 204`` runs): a training job's life, step by step.

It starts the Kubernetes API emulator (the shared ``k8s`` launcher), applies the CRD and a GPU
ResourceQuota, runs the operator as a subprocess (``trainop run``, its log in a file), then
submits jobs and prints their children and status. The emulator runs no controllers, so the
demo plays the Job controller (it marks attempts failed or complete) and says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from aiinfra_shared.operators import demo_cluster, eventually, operator_process
from trainop.spec import GROUP, PLURAL, VERSION, crd_manifest

NS = "default"


def _wait(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    return eventually(check, timeout, raise_on_timeout=False)


def run_demo(console: Console) -> None:
    os.environ.setdefault("TRAINOP_POLL_INTERVAL", "0.5")
    from kubernetes import client

    from trainop.kube import Api

    console.rule("[bold]204: a Kopf operator for distributed training jobs")
    with demo_cluster(console, crd_manifest()) as k8s:
        quota: Any = {
            "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "gpus"},
            "spec": {"hard": {"requests.nvidia.com/gpu": "8"}},
        }  # fmt: skip
        client.CoreV1Api().create_namespaced_resource_quota(NS, quota)
        console.print("namespace default: ResourceQuota requests.nvidia.com/gpu = 8")
        api = Api()

        def submit(name: str, **spec: Any) -> None:
            api.custom.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, {
                "apiVersion": f"{GROUP}/{VERSION}", "kind": "MLTrainingJob",
                "metadata": {"name": name},
                "spec": {"image": "aiinfra/ddptrain:0.1.0", "command": ["ddptrain", "train"],
                         **spec},
            })  # fmt: skip

        def status(name: str) -> dict[str, Any]:
            return api.training_job(name, NS).get("status") or {}

        def finish(job: str, ok: bool) -> None:
            kind = "Complete" if ok else "Failed"
            console.print(f"[dim](playing the Job controller: {job} -> {kind})[/]")
            api.batch.patch_namespaced_job_status(
                job, NS, {"status": {"conditions": [{"type": kind, "status": "True"}]}}
            )

        def show(title: str) -> None:
            table = Table("job", "phase", "attempt", "GPUs", "message", title=title)
            for item in api.training_jobs(NS):
                st = item.get("status") or {}
                table.add_row(item["metadata"]["name"], st.get("phase"), str(st.get("attempt", "")),
                              str(st.get("gpus", "")), st.get("message", ""))  # fmt: skip
            console.print(table)

        with operator_process(console, "trainop", NS, Path(k8s.env["KUBECONFIG"]).parent):
            console.rule("1. submit resnet: 4 workers x 2 GPUs, retries with 1 s backoff")
            submit("resnet", workers=4, gpusPerWorker=2, backoffSeconds=1, backoffLimit=2,
                   hyperparameters={"lr": 0.1, "epochs": 90})  # fmt: skip
            _wait(lambda: status("resnet").get("phase") == "Running")
            job = api.read("Job", "resnet-attempt-1", NS) or {}
            pod = job.get("spec", {}).get("template", {}).get("spec", {})
            env = {e["name"]: e.get("value", "<from the pod's completion index>")
                   for e in pod.get("containers", [{}])[0].get("env", [])}  # fmt: skip
            table = Table("child", "detail", title="children of resnet")
            table.add_row("ConfigMap resnet-hparams", "hyperparameters.json + HP_* env")
            table.add_row("PVC resnet-checkpoints", "ReadWriteMany, mounted at /checkpoints")
            table.add_row("Service resnet", "headless: stable DNS per worker")
            table.add_row("Job resnet-attempt-1",
                          f"Indexed x{job.get('spec', {}).get('completions')}, "
                          f"MASTER_ADDR={env.get('MASTER_ADDR')}, "
                          f"WORLD_SIZE={env.get('WORLD_SIZE')}, "
                          f"RANK={env.get('RANK')}, nvidia.com/gpu=2 per pod")  # fmt: skip
            console.print(table)

            console.rule("2. a second job that would exceed the GPU quota is refused")
            submit("bert", workers=1, gpusPerWorker=2)
            _wait(lambda: status("bert").get("phase") == "Refused")
            show("quota")

            console.rule("3. attempt 1 fails: retried after backoff")
            finish("resnet-attempt-1", ok=False)
            _wait(lambda: status("resnet").get("phase") == "Retrying", timeout=5)
            show("retrying")
            _wait(lambda: status("resnet").get("attempt") == 2 and
                  status("resnet").get("phase") == "Running")  # fmt: skip
            show("attempt 2 running")

            console.rule("4. attempt 2 completes: cleanup, and the refused job is admitted")
            finish("resnet-attempt-2", ok=True)
            _wait(lambda: status("resnet").get("phase") == "Succeeded")
            _wait(lambda: status("bert").get("phase") == "Running")
            show("final")
            left = sorted(
                f"{kind} {name}" for kind, name in (
                    ("Job", "resnet-attempt-2"), ("Service", "resnet"),
                    ("ConfigMap", "resnet-hparams"),
                    ("PersistentVolumeClaim", "resnet-checkpoints"),
                ) if api.read(kind, name, NS) is not None
            )  # fmt: skip
            console.print(f"resnet's children left after success: {left} (checkpoints are kept)")
