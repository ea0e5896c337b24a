"""Kubernetes manifests validate offline; Dockerfiles pass hadolint; compose is coherent."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from aiinfra_shared import workspace
from aiinfra_shared.services.prometheus import run_promtool

ROOT = Path(__file__).resolve().parents[1]
K8S_VERSION = "1.32.0"
BIN = Path(sys.executable).parent
KUSTOMIZATIONS = sorted(p.parent for p in ROOT.glob("kubernetes/**/kustomization.yaml"))
MANIFESTS = sorted(p for p in ROOT.glob("kubernetes/**/*.yaml") if p.name != "kustomization.yaml")


def _tool(name: str) -> str:
    path = BIN / name if (BIN / name).exists() else shutil.which(name)
    assert path, f"{name} missing: it comes with the root 'repo' dependency group"
    return str(path)


MONITORING = "monitoring.coreos.com/v1"
RAY = "ray.io/v1"


@functools.cache
def _render(folder: Path) -> tuple[int, str, str]:
    """``kubectl kustomize`` once per folder (several tests read the same render)."""
    done = subprocess.run(
        [_tool("kubectl"), "kustomize", str(folder)], capture_output=True, text=True, check=False
    )
    return done.returncode, done.stdout, done.stderr


def _rendered_docs(folder: Path) -> list[dict[str, Any]]:
    code, out, err = _render(folder)
    assert code == 0, err
    return [d for d in yaml.safe_load_all(out) if d]


def _validate(doc: dict[str, Any], where: str) -> None:
    if doc.get("apiVersion") == MONITORING:
        _validate_monitoring(doc, where)
        return
    if doc.get("apiVersion") == RAY:
        _validate_ray(doc, where)
        return
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{where}: {doc.get('kind')}/{doc['metadata'].get('name')}: {exc.message}")


def _validate_monitoring(doc: dict[str, Any], where: str) -> None:
    """Prometheus Operator kinds have no schema in kubernetes-validate: check them here.

    A PrometheusRule's groups must pass ``promtool check rules``; a ServiceMonitor needs a
    label selector and endpoints that name a port.
    """
    name = f"{where}: {doc['kind']}/{doc['metadata'].get('name')}"
    spec = doc.get("spec") or {}
    if doc["kind"] == "PrometheusRule":
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "rules.yml").write_text(yaml.safe_dump(spec))
            done = run_promtool("check", "rules", "rules.yml", cwd=tmp)
        assert done.ok, f"{name}: {done.output}"
    elif doc["kind"] == "ServiceMonitor":
        assert spec.get("selector", {}).get("matchLabels"), f"{name}: no selector.matchLabels"
        endpoints = spec.get("endpoints") or []
        assert endpoints, f"{name}: no endpoints"
        for endpoint in endpoints:
            assert endpoint.get("port") or endpoint.get("targetPort"), f"{name}: endpoint port"
    else:
        pytest.fail(f"{name}: unknown kind of {MONITORING}")


def _validate_pod_template(template: dict[str, Any], where: str) -> None:
    """A pod template embedded in a custom resource, checked as a core v1 PodTemplate."""
    doc = {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {"name": "embedded"},
        "template": template,
    }
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{where}: {exc.message}")
    pod = template["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True, where
    for container in pod["containers"]:
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
        assert {"requests", "limits"} <= set(container["resources"]), where


def _validate_ray_cluster(spec: dict[str, Any], where: str) -> None:
    head = spec["headGroupSpec"]
    assert isinstance(head.get("rayStartParams"), dict), f"{where}: head rayStartParams"
    _validate_pod_template(head["template"], f"{where}: head")
    assert "livenessProbe" in head["template"]["spec"]["containers"][0], f"{where}: head probe"
    for group in spec.get("workerGroupSpecs", []):
        name = f"{where}: worker group {group['groupName']}"
        assert isinstance(group.get("rayStartParams"), dict), f"{name}: rayStartParams"
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"], name
        _validate_pod_template(group["template"], name)
        pod = group["template"]["spec"]
        gpus = [c["resources"]["limits"].get("nvidia.com/gpu") for c in pod["containers"]]
        if any(gpus):
            # GPU nodes are tainted: a GPU group must tolerate the taint and tell Ray its GPUs.
            keys = {t.get("key") for t in pod.get("tolerations", [])}
            assert "nvidia.com/gpu" in keys, f"{name}: no nvidia.com/gpu toleration"
            assert group["rayStartParams"].get("num-gpus") == str(gpus[0]), f"{name}: num-gpus"


def _validate_ray(doc: dict[str, Any], where: str) -> None:
    """KubeRay kinds have no schema in kubernetes-validate: check their pods and shape here."""
    name = f"{where}: {doc['kind']}/{doc['metadata'].get('name')}"
    spec = doc["spec"]
    if doc["kind"] == "RayCluster":
        _validate_ray_cluster(spec, name)
    elif doc["kind"] == "RayJob":
        assert spec.get("entrypoint"), f"{name}: no entrypoint"
        _validate_ray_cluster(spec["rayClusterSpec"], name)
        if "submitterPodTemplate" in spec:
            _validate_pod_template(spec["submitterPodTemplate"], f"{name}: submitter")
    else:
        pytest.fail(f"{name}: unknown kind of {RAY}")


def test_there_are_manifests_for_every_package_that_ships_them() -> None:
    assert (ROOT / "kubernetes" / "mlapi" / "base" / "kustomization.yaml").is_file()


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_manifest_validates_against_the_schema(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc:
            _validate(doc, str(path.relative_to(ROOT)))


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_kustomization_renders_and_validates(folder: Path) -> None:
    docs = _rendered_docs(folder)
    assert {d["kind"] for d in docs} >= {"Deployment"}
    for doc in docs:
        _validate(doc, str(folder.relative_to(ROOT)))


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_workloads_run_as_non_root_with_probes_and_limits(folder: Path) -> None:
    docs = _rendered_docs(folder)
    selectors = [d["spec"]["selector"] for d in docs if d["kind"] == "Service"]
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        pod = doc["spec"]["template"]["spec"]
        labels = doc["spec"]["template"]["metadata"]["labels"]
        behind_service = any(sel.items() <= labels.items() for sel in selectors)
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"] + pod.get("initContainers", []):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert {"requests", "limits"} <= set(container["resources"])
        for container in pod["containers"]:
            assert "livenessProbe" in container
            # Pods behind a Service must say when they can take traffic.
            if behind_service:
                assert "readinessProbe" in container, doc["metadata"]["name"]


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_service_monitors_select_a_service_port(folder: Path) -> None:
    docs = _rendered_docs(folder)
    services = [d for d in docs if d["kind"] == "Service"]
    for monitor in (d for d in docs if d["kind"] == "ServiceMonitor"):
        wanted = monitor["spec"]["selector"]["matchLabels"].items()
        matching = [s for s in services if wanted <= s["metadata"].get("labels", {}).items()]
        assert matching, f"ServiceMonitor {monitor['metadata']['name']} selects no Service"
        ports = {p.get("name") for s in matching for p in s["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in ports, f"no Service port named {endpoint['port']!r}"


def test_prometheus_rules_mirror_the_packages_rule_files() -> None:
    """A PrometheusRule under kubernetes/<short>/ must equal that package's rules file."""
    members = {m.short: m for m in workspace.discover(ROOT)}
    found = 0
    for path in MANIFESTS:
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "PrometheusRule":
                continue
            short = path.relative_to(ROOT / "kubernetes").parts[0]
            rules_file = members[short].path / "rules" / f"{short}.rules.yml"
            shipped = yaml.safe_load(rules_file.read_text())
            assert doc["spec"] == shipped, f"{path.relative_to(ROOT)} differs from {rules_file}"
            found += 1
    assert found >= 2


@pytest.mark.parametrize(
    "dockerfile", sorted(ROOT.glob("docker/**/Dockerfile*")), ids=lambda p: p.name
)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    result = subprocess.run(
        [_tool("hadolint"), "--failure-threshold", "warning", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    text = (ROOT / "docker" / "Dockerfile").read_text()
    assert text.count("\nFROM ") >= 2
    assert "\nUSER 10001" in text
    assert "\nHEALTHCHECK " in text
    assert "ARG PACKAGE" in text


def test_compose_builds_known_packages_and_binds_loopback() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    shorts = {m.short for m in workspace.discover(ROOT)}
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        build = service.get("build")
        if build:
            assert (ROOT / "docker" / build["context"] / build["dockerfile"]).is_file()
            assert build["args"]["PACKAGE"] in shorts
            assert "healthcheck" in service
