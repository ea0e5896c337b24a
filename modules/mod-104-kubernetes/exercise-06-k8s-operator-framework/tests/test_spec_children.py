"""The schema and the children's manifests, as plain functions (no API server)."""

from __future__ import annotations

from pathlib import Path

import yaml
from modelop.children import deployment, hpa, service
from modelop.spec import crd_manifest, parse_spec

ROOT = Path(__file__).resolve().parents[4]
SPEC = {"modelUri": "s3://models/churn", "version": "v3", "replicas": 2}


def test_the_shipped_crd_is_generated_from_the_code() -> None:
    shipped = yaml.safe_load((ROOT / "kubernetes/modelop/base/crd.yaml").read_text())
    assert shipped == crd_manifest(), (
        "regenerate it: modelop crd > kubernetes/modelop/base/crd.yaml"
    )
    props = crd_manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    assert props["spec"]["required"] == ["modelUri", "version"]
    assert props["spec"]["properties"]["replicas"]["maximum"] == 100


def test_invalid_specs_name_every_problem() -> None:
    spec, problems = parse_spec(
        {"modelUri": "ftp://x", "version": "v1", "replicas": -1,
         "autoscaling": {"minReplicas": 5, "maxReplicas": 2}, "colour": "red"}
    )  # fmt: skip
    assert spec is None
    joined = " | ".join(problems)
    assert "spec.modelUri: String should match pattern" in joined
    assert "spec.replicas: Input should be greater than or equal to 0" in joined
    assert "minReplicas (5) > maxReplicas (2)" in joined
    assert "spec.colour: Extra inputs are not permitted" in joined
    assert parse_spec({"version": "v1"})[1] == ["spec.modelUri: Field required"]


def test_deployment_carries_the_model_and_rolls_on_a_version_change() -> None:
    spec, _ = parse_spec(SPEC)
    assert spec is not None
    dep = deployment("churn", "ml", spec)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {"MODEL_URI": "s3://models/churn", "MODEL_VERSION": "v3"}
    assert dep["spec"]["template"]["metadata"]["labels"]["ml.aiinfra.dev/version"] == "v3"
    assert dep["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
    }
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # The Service selects exactly the predictor pods, whatever their version.
    selector = service("churn", "ml", spec)["spec"]["selector"]
    assert selector.items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    assert "ml.aiinfra.dev/version" not in selector


def test_hpa_follows_the_autoscaling_bounds() -> None:
    spec, _ = parse_spec({**SPEC, "autoscaling": {"minReplicas": 2, "maxReplicas": 8}})
    assert spec is not None
    made = hpa("churn", "ml", spec)
    assert made is not None
    assert (made["spec"]["minReplicas"], made["spec"]["maxReplicas"]) == (2, 8)
    assert made["spec"]["scaleTargetRef"]["name"] == "churn-predictor"
    off, _ = parse_spec({**SPEC, "autoscaling": {"enabled": False}})
    assert off is not None
    assert hpa("churn", "ml", off) is None


def test_the_shipped_sample_is_a_valid_mlmodel() -> None:
    sample = yaml.safe_load((Path(__file__).parents[1] / "samples/mlmodel-churn.yaml").read_text())
    assert sample["kind"] == "MLModel"
    spec, problems = parse_spec(sample["spec"])
    assert problems == []
    assert spec is not None
    assert spec.autoscaling.maxReplicas == 6


def test_the_crd_command_prints_the_shipped_crd() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "modelop", "crd"], capture_output=True, text=True, check=True
    )
    assert yaml.safe_load(done.stdout) == crd_manifest()
