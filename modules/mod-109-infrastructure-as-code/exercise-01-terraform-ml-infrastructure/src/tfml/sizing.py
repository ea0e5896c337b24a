"""Evaluate an environment's sizing profile with Terraform itself.

The profile (NAT gateways, Multi-AZ, spot GPUs ...) is computed by the provider-free ``naming``
module. Rather than re-implementing it in Python, we write a throwaway root module that calls
``naming`` with the environment's values and ``terraform apply`` it (no resources, no provider):
the outputs are exactly what the platform would use.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from aiinfra_shared.iac.hcl import load
from aiinfra_shared.iac.terraform import Terraform
from tfml.errors import TfmlError
from tfml.paths import terraform_dir

NAMING_INPUTS = ("project", "environment", "owner", "cost_center", "network_cidr", "zones")


def platform_values(env_dir: Path) -> dict[str, Any]:
    """The literal arguments an environment passes to ``module "platform"``."""
    config = load(env_dir)
    call = config.modules.get("platform")
    if call is None:
        raise TfmlError(f'{env_dir} has no module "platform" call')
    values = {k: v for k, v in call.body.items() if k not in {"source"}}
    expressions = [k for k, v in values.items() if isinstance(v, str) and "${" in v]
    if expressions:
        raise TfmlError(
            f"{env_dir.name}: sizing needs literal values; {expressions} are expressions"
        )
    return values


def evaluate_sizing(env_dir: Path, terraform: Terraform | None = None) -> dict[str, Any]:
    """``naming`` module outputs (prefix, tags, subnets, sizing) for this environment."""
    values = platform_values(env_dir)
    missing = [k for k in NAMING_INPUTS if k not in values]
    if missing:
        raise TfmlError(f'{env_dir.name}: module "platform" lacks {missing}')
    tf = terraform or Terraform.find()
    naming = (terraform_dir() / "modules" / "naming").resolve()
    args = "\n".join(f"  {k} = {json.dumps(values[k])}" for k in NAMING_INPUTS)
    with tempfile.TemporaryDirectory(prefix="tfml-sizing-") as tmp:
        root = Path(tmp)
        (root / "main.tf").write_text(
            f'module "naming" {{\n  source = "{naming.as_posix()}"\n{args}\n}}\n'
            'output "naming" {\n  value = module.naming\n}\n'
        )
        return dict(tf.apply_outputs(root)["naming"])
