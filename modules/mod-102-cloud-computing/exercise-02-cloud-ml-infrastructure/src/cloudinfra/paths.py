"""Where the shipped Terraform, checks and price tables live (repo checkout or wheel)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from aiinfra_shared.iac.paths import scratch_copy, shipped_dir
from cloudinfra.errors import CloudinfraError

CLOUDS = ("aws", "gcp", "azure")
ENVIRONMENTS = ("dev", "prod")


def _find(name: str) -> Path:
    return shipped_dir(__file__, name, CloudinfraError)


def terraform_dir() -> Path:
    """``terraform/``: ``modules/`` (gpu-catalog, aws-ml, gcp-ml, azure-ml) and ``stacks/``."""
    return _find("terraform")


def policies_dir() -> Path:
    """``policies/``: GCP/Azure custom checkov checks and their severity table."""
    return _find("policies")


def prices_file(cloud: str) -> Path:
    return _find("prices") / f"{cloud}.yaml"


def stack_dir(cloud: str) -> Path:
    if cloud not in CLOUDS:
        raise CloudinfraError(f"unknown cloud {cloud!r}; choose one of {', '.join(CLOUDS)}")
    return terraform_dir() / "stacks" / cloud


def tfvars_file(cloud: str, environment: str) -> Path:
    path = stack_dir(cloud) / f"{environment}.tfvars"
    if not path.is_file():
        have = sorted(p.stem for p in stack_dir(cloud).glob("*.tfvars"))
        raise CloudinfraError(f"no {environment}.tfvars for {cloud}; have {', '.join(have)}")
    return path


def scratch_tree() -> AbstractContextManager[Path]:
    """A throwaway copy of ``terraform/`` to run ``init``/``test``/``validate`` in."""
    return scratch_copy(terraform_dir(), "cloudinfra-")
