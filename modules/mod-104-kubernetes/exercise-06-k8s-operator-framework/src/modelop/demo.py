"""``modelop demo`` (what ``aiinfra run 104-06`` runs): the operator at work, step by step.

It starts the Kubernetes API emulator (the shared ``k8s`` launcher), applies the CRD, runs the
operator as a subprocess (``modelop run``, its log in a file), then applies sample MLModels and
prints the children and status after each step. The emulator runs no controllers, so the demo
plays the Deployment controller's part and reports pods ready itself; it says so when it does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from rich.console import Console
from rich.table import Table

from aiinfra_shared.operators import demo_cluster, eventually, operator_process
from modelop.spec import GROUP, PLURAL, VERSION, crd_manifest

NS = "default"


def _wait(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    return eventually(check, timeout, raise_on_timeout=False)


def run_demo(console: Console) -> None:
    os.environ.setdefault("MODELOP_HEALTH_INTERVAL", "1")

    from kubernetes import client

    from modelop.reconcile import Api

    console.rule("[bold]104-06: a Kopf operator for MLModel")
    with demo_cluster(console, crd_manifest()) as k8s:
        models = client.CustomObjectsApi()

        def model(name: str) -> dict[str, Any]:
            body = models.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, name)
            return cast(dict[str, Any], body)

        api = Api()

        def show(title: str, name: str) -> None:
            table = Table("kind", "name", "detail", title=title)
            body = model(name)
            status = body.get("status") or {}
            table.add_row(
                "MLModel",
                name,
                f"phase={status.get('phase')} version={status.get('currentVersion')}",
            )
            dep = api.read("Deployment", f"{name}-predictor", NS)
            if dep:
                env = {
                    e["name"]: e["value"]
                    for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]
                }
                table.add_row("Deployment", f"{name}-predictor",
                              f"replicas={dep['spec'].get('replicas', 'HPA')} "
                              f"MODEL_VERSION={env['MODEL_VERSION']}")  # fmt: skip
            if api.read("Service", name, NS):
                table.add_row("Service", name, "ClusterIP :80 -> http")
            hpa = api.read("HorizontalPodAutoscaler", name, NS)
            if hpa:
                bounds = f"{hpa['spec']['minReplicas']}..{hpa['spec']['maxReplicas']}"
                table.add_row("HorizontalPodAutoscaler", name, bounds)
            console.print(table)

        def spec_patch(name: str, spec: dict[str, Any]) -> None:
            models.patch_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, name, {"spec": spec})

        def ready(name: str, count: int) -> None:
            dep = api.read("Deployment", f"{name}-predictor", NS) or {}
            seen = int(dep.get("metadata", {}).get("generation") or 1)
            api.apps.patch_namespaced_deployment_status(
                f"{name}-predictor", NS, {"status": {
                    "replicas": count, "readyReplicas": count, "availableReplicas": count,
                    "updatedReplicas": count, "observedGeneration": seen}},
            )  # fmt: skip

        def phase(name: str) -> str | None:
            phase_now: str | None = (model(name).get("status") or {}).get("phase")
            return phase_now

        with operator_process(console, "modelop", NS, Path(k8s.env["KUBECONFIG"]).parent):
            console.rule("1. apply MLModel churn (v1, 2 replicas, no autoscaling)")
            models.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, {
                "apiVersion": f"{GROUP}/{VERSION}", "kind": "MLModel",
                "metadata": {"name": "churn"},
                "spec": {"modelUri": "s3://models/churn", "version": "v1", "replicas": 2,
                         "autoscaling": {"enabled": False}},
            })  # fmt: skip
            _wait(lambda: phase("churn"))
            show("after create", "churn")
            console.print("[dim](playing the Deployment controller: 2 pods report ready)[/]")
            ready("churn", 2)
            _wait(lambda: phase("churn") == "Ready")
            show("pods ready", "churn")

            console.rule("2. roll out v2 and scale to 3")
            spec_patch("churn", {"version": "v2", "replicas": 3})
            _wait(
                lambda: (
                    (api.read("Deployment", "churn-predictor", NS) or {})["spec"]["replicas"] == 3
                )
            )
            show("after update", "churn")

            console.rule("3. an MLModel with autoscaling, and one with an invalid spec")
            models.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, {
                "apiVersion": f"{GROUP}/{VERSION}", "kind": "MLModel", "metadata": {"name": "recs"},
                "spec": {"modelUri": "s3://models/recs", "version": "2026.11",
                         "autoscaling": {"minReplicas": 2, "maxReplicas": 8}},
            })  # fmt: skip
            models.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, {
                "apiVersion": f"{GROUP}/{VERSION}", "kind": "MLModel",
                "metadata": {"name": "broken"},
                "spec": {"modelUri": "ftp://old-server/model", "version": "v1", "replicas": -2},
            })  # fmt: skip
            _wait(lambda: api.read("HorizontalPodAutoscaler", "recs", NS))
            show("autoscaled", "recs")
            _wait(lambda: phase("broken") == "Invalid")
            broken = model("broken")
            console.print(
                f"broken: phase={broken['status']['phase']}: "
                f"{broken['status']['conditions'][0]['message']}"
            )

            console.rule("4. delete churn: its children go with it")
            models.delete_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "churn")
            _wait(lambda: api.read("Deployment", "churn-predictor", NS) is None)
            left = [
                d.metadata.name for d in api.apps.list_namespaced_deployment(NS).items if d.metadata
            ]
            console.print(f"Deployments left: {left}")
            events = client.CoreV1Api().list_namespaced_event(NS).items
            table = Table("object", "reason", "message", title="events the operator posted")
            for event in events[-12:]:
                table.add_row(event.involved_object.name, event.reason, event.message)
            console.print(table)
