"""Where the shipped Terraform, checks and price tables live (repo checkout or wheel)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cloudinfra.errors import CloudinfraError

CLOUDS = ("aws", "gcp", "azure")
ENVIRONMENTS = ("dev", "prod")


def _find(name: str) -> Path:
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    raise CloudinfraError(f"the shipped {name}/ folder is missing near {here}")


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


@contextmanager
def scratch_tree() -> Iterator[Path]:
    """A throwaway copy of ``terraform/`` to run ``init``/``test``/``validate`` in."""
    with tempfile.TemporaryDirectory(prefix="cloudinfra-") as tmp:
        copy = Path(tmp) / "terraform"
        ignore = shutil.ignore_patterns(".terraform*", "*.tfstate*")
        shutil.copytree(terraform_dir(), copy, ignore=ignore)
        yield copy
