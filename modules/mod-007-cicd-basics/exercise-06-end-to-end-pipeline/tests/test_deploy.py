"""What ships beside the code: the Dockerfile, the GitHub Actions workflow, the Kubernetes
manifests. Each is linted by the tool the field uses and checked against the CLI it calls."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

PACKAGE = Path(__file__).resolve().parents[1]
ROOT = PACKAGE.parents[2]
MANIFESTS = ROOT / "kubernetes" / "e2epipe"
WORKFLOW = PACKAGE / "deploy" / "github" / "e2epipe.yml"


def _tool(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)


def _docs() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Kustomization":
                docs[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return docs


def _help(*command: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "e2epipe", *command, "--help"],
        capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    return done.stdout


def test_the_dockerfile_passes_hadolint_and_runs_as_non_root() -> None:
    dockerfile = PACKAGE / "deploy" / "Dockerfile"
    done = _tool("hadolint", "--failure-threshold", "warning", str(dockerfile))
    assert done.returncode == 0, done.stdout
    text = dockerfile.read_text()
    assert text.count("FROM ") >= 2, "multi-stage: the runtime image has no build tools"
    assert "HEALTHCHECK" in text
    user = [line for line in text.splitlines() if line.startswith("USER ")]
    assert user
    assert user[-1].split()[1] not in ("root", "0")


def test_the_workflow_passes_actionlint_and_the_workflow_schema() -> None:
    done = _tool("actionlint", "-shellcheck=", str(WORKFLOW))
    assert done.returncode == 0, done.stdout + done.stderr
    done = _tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflow_calls_commands_that_exist() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    runs = [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step
    ]
    e2epipe_calls = [shlex.split(r.split(" -- ", 1)[1]) for r in runs if "-- e2epipe " in r]
    assert e2epipe_calls, "the workflow trains with the package's own CLI"
    for call in e2epipe_calls:
        help_text = _help(*call[1:2])
        for option in (word for word in call[2:] if word.startswith("--")):
            assert option in help_text, f"{option} is not an option of e2epipe {call[1]}"


def test_the_service_selects_exactly_one_slot_and_each_slot_pins_a_version() -> None:
    docs = _docs()
    service = docs["Service/e2epipe"]
    slot = service["spec"]["selector"]["app.kubernetes.io/slot"]
    pinned = {}
    for colour in ("blue", "green"):
        deployment = docs[f"Deployment/e2epipe-{colour}"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/slot"] == colour
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        pinned[colour] = env["E2EPIPE_MODEL_VERSION"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert slot in pinned
    assert pinned["blue"] != pinned["green"], "two slots serving one version is not blue-green"


def test_the_hpa_scales_the_live_slot_and_the_cronjob_retrains_with_real_options() -> None:
    docs = _docs()
    hpas = [d for d in docs.values() if d["kind"] == "HorizontalPodAutoscaler"]
    assert hpas
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in hpas}
    assert targets <= {"e2epipe-blue", "e2epipe-green"}
    (cron,) = [d for d in docs.values() if d["kind"] == "CronJob"]
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    command = container["command"]
    assert command[:2] == ["e2epipe", "run"]
    help_text = _help("run")
    for option in (word for word in command[2:] if word.startswith("--")):
        assert option in help_text
    assert "--require-ready" in command, "a retrain that is not ready must fail the Job"


@pytest.mark.parametrize("name", ["deployment-blue.yaml", "deployment-green.yaml"])
def test_the_serving_command_and_env_are_what_the_settings_read(name: str) -> None:
    from e2epipe.config import Settings

    doc = yaml.safe_load((MANIFESTS / name).read_text())
    (container,) = doc["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["e2epipe", "serve"]
    fields = {f"E2EPIPE_{f.upper()}" for f in Settings.model_fields}
    for entry in container["env"]:
        if entry["name"].startswith("E2EPIPE_"):
            assert entry["name"] in fields, f"{entry['name']} is read by no setting"
