"""The per-cloud stacks: their tfvars, checked against the stack's variables, and the GPU
catalog evaluated by Terraform for each (cloud, environment)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiinfra_shared.iac.hcl import load, parse_file
from aiinfra_shared.iac.interface import Finding
from aiinfra_shared.iac.terraform import Terraform
from cloudinfra.errors import CloudinfraError
from cloudinfra.paths import CLOUDS, ENVIRONMENTS, terraform_dir, tfvars_file

#: What each cloud's stack is made of, for the comparison table.
SERVICES = {
    "aws": {"short": "SageMaker + EKS", "ml": "SageMaker Studio (VPC only)", "k8s": "EKS"},
    "gcp": {"short": "Vertex AI + GKE", "ml": "Vertex AI (private endpoint)", "k8s": "GKE"},
    "azure": {"short": "Azure ML + AKS", "ml": "Azure Machine Learning (private)", "k8s": "AKS"},
}


def tfvars(cloud: str, environment: str) -> dict[str, Any]:
    """The values of ``stacks/<cloud>/<environment>.tfvars``."""
    return parse_file(tfvars_file(cloud, environment))


def check_tfvars(root: Path | None = None) -> list[Finding]:
    """Every tfvars file sets only declared variables, and every required one."""
    found: list[Finding] = []
    stacks = (root or terraform_dir()) / "stacks"
    for cloud in CLOUDS:
        declared = load(stacks / cloud).variables
        required = {n for n, v in declared.items() if not v.has_default}
        for path in sorted((stacks / cloud).glob("*.tfvars")):
            values = parse_file(path)
            where = f"{cloud}/{path.name}"
            for name in sorted(set(values) - set(declared)):
                found.append(
                    Finding("error", where, f"sets {name!r}, which the stack does not declare")
                )
            for name in sorted(required - set(values)):
                found.append(Finding("error", where, f"does not set required variable {name!r}"))
    return found


@dataclass(frozen=True)
class Gpu:
    machine_type: str
    accelerator: str | None
    min: int
    max: int
    spot: bool


def catalog(
    cloud: str, gpu_class: str, environment: str, terraform: Terraform | None = None
) -> Gpu:
    """The gpu-catalog module's answer, from ``terraform apply`` of a provider-free root."""
    tf = terraform or Terraform.find()
    module = (terraform_dir() / "modules" / "gpu-catalog").resolve()
    with tempfile.TemporaryDirectory(prefix="cloudinfra-catalog-") as tmp:
        root = Path(tmp)
        (root / "main.tf").write_text(
            f'module "catalog" {{\n  source = "{module.as_posix()}"\n'
            f"  cloud = {json.dumps(cloud)}\n  gpu_class = {json.dumps(gpu_class)}\n"
            f"  environment = {json.dumps(environment)}\n}}\n"
            'output "catalog" {\n  value = module.catalog\n}\n'
        )
        # An unknown cloud/class fails the module's validation: a TfmlError naming it.
        out = tf.apply_outputs(root)["catalog"]
    if out["machine_type"] is None:  # the module's check block only warns
        raise CloudinfraError(f"{cloud} offers no {gpu_class} GPU in the catalog")
    pool = out["pool"]
    return Gpu(
        out["machine_type"],
        out["accelerator"],
        int(pool["min"]),
        int(pool["max"]),
        bool(pool["spot"]),
    )


def stack_gpu(cloud: str, environment: str, terraform: Terraform | None = None) -> Gpu:
    values = tfvars(cloud, environment)
    if values.get("environment") != environment:
        raise CloudinfraError(
            f"{cloud}/{environment}.tfvars sets environment = {values.get('environment')!r}"
        )
    return catalog(cloud, str(values["gpu_class"]), environment, terraform)


__all__ = ["CLOUDS", "ENVIRONMENTS", "SERVICES", "Gpu", "catalog", "check_tfvars", "stack_gpu"]
