"""The point of the exercise: every template's project installs in a fresh venv, passes its
own tests, serves HTTP under uvicorn, and passes ruff, hadolint and kubernetes-validate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from mltemplate import generator, verify

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


def _tool(*cmd: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / cmd[0]), *cmd[1:]], cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip


@pytest.fixture(scope="module", params=["sklearn", "pytorch", "llm-gateway"])
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project per template, every option on, in a fresh venv."""
    template = generator.get_template(request.param)
    options = generator.resolve_options(template, {"tracing": True})
    target = tmp_path_factory.mktemp(request.param) / "my-service"
    generator.new(template, "my-service", options, target)
    verify.install(target)
    return target


def test_its_own_tests_pass(project: Path) -> None:
    summary = verify.run_tests(project, project / ".venv/bin/python")
    assert " passed" in summary
    assert "failed" not in summary
    assert "error" not in summary


def test_it_serves_predictions_and_metrics_over_http(project: Path) -> None:
    template = generator.read_answers(project)["template"]
    path, body = verify.example_request(template)
    with verify.serve(project, project / ".venv/bin/python") as service:
        assert httpx.post(f"{service.url}{path}", json=body, timeout=30).status_code == 401
        headers = {"X-API-Key": verify.API_KEY}
        answer = httpx.post(f"{service.url}{path}", json=body, headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text
        results = answer.json().get("predictions") or answer.json()["completions"]
        assert len(results) == 2
        metrics = httpx.get(f"{service.url}/metrics", timeout=30).text
    assert "my_service_predictions_total 2.0" in metrics
    assert f'my_service_requests_total{{method="POST",route="{path}",status="200"}} 1.0' in metrics


def test_ruff_hadolint_and_kubernetes_validate_pass(project: Path) -> None:
    for cmd in (
        ("ruff", "check", "--no-cache", "."),
        ("ruff", "format", "--check", "--no-cache", "."),
    ):
        done = _tool(*cmd, cwd=project)
        assert done.returncode == 0, done.stdout + done.stderr
    done = _tool("hadolint", "Dockerfile", cwd=project)
    assert done.returncode == 0, done.stdout
    manifests = sorted(str(p) for p in (project / "k8s").glob("*.yaml"))
    assert len(manifests) == 3
    done = _tool("kubernetes-validate", "--strict", *manifests, cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed") == 3


def test_the_gpu_variant_lints_and_asks_kubernetes_for_a_gpu(tmp_path: Path) -> None:
    template = generator.get_template("pytorch")
    target = tmp_path / "gpu-svc"
    generator.new(template, "gpu-svc", generator.resolve_options(template, {"gpu": True}), target)
    assert "nvidia.com/gpu: 1" in (target / "k8s/deployment.yaml").read_text()
    assert "pytorch-cpu" not in (target / "pyproject.toml").read_text()
    done = _tool("kubernetes-validate", "--strict", "k8s/deployment.yaml", cwd=target)
    assert done.returncode == 0, done.stdout
    assert _tool("ruff", "check", "--no-cache", ".", cwd=target).returncode == 0


def test_the_demo_generates_installs_tests_serves_and_updates(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "mltemplate", "demo", "--workdir",
                           str(tmp_path)], capture_output=True, text=True, timeout=300,
                          check=False, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "passed" in done.stdout
    assert "without a key: 401" in done.stdout
    assert "with a key: 200" in done.stdout
    assert "README keeps your notes: True; has the template's new line: True" in done.stdout
