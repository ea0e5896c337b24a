from __future__ import annotations

from pathlib import Path

import pytest
from cloudinfra.errors import CloudinfraError
from cloudinfra.paths import tfvars_file
from cloudinfra.stacks import catalog, check_tfvars, stack_gpu, tfvars

from aiinfra_shared.iac.errors import IacError
from aiinfra_shared.iac.hcl import load
from aiinfra_shared.iac.interface import check_tree
from aiinfra_shared.iac.terraform import Terraform


def test_shipped_stacks_have_clean_interfaces_and_tfvars() -> None:
    from cloudinfra.paths import terraform_dir

    assert check_tree(terraform_dir()) == []
    assert check_tfvars() == []


def test_each_stack_has_its_clouds_backend_and_both_environments() -> None:
    from cloudinfra.paths import stack_dir

    backends = {
        cloud: list(load(stack_dir(cloud)).backend or {}) for cloud in ("aws", "gcp", "azure")
    }
    assert backends == {"aws": ["s3"], "gcp": ["gcs"], "azure": ["azurerm"]}
    for cloud in ("aws", "gcp", "azure"):
        assert tfvars(cloud, "dev")["environment"] == "dev"
        assert tfvars(cloud, "prod")["environment"] == "prod"


def test_tfvars_problems_are_reported(tree: Path) -> None:
    dev = tree / "stacks" / "gcp" / "dev.tfvars"
    dev.write_text(dev.read_text().replace('region      = "us-central1"\n', "") + 'zone = "b"\n')
    assert [str(f) for f in check_tfvars(tree)] == [
        "error: gcp/dev.tfvars: sets 'zone', which the stack does not declare",
        "error: gcp/dev.tfvars: does not set required variable 'region'",
    ]


def test_terraform_evaluates_the_gpu_catalog(terraform: Terraform) -> None:
    aws = stack_gpu("aws", "dev", terraform)
    assert (aws.machine_type, aws.accelerator, aws.min, aws.max, aws.spot) == (
        "g5.xlarge",
        None,
        0,
        2,
        True,
    )
    gcp = stack_gpu("gcp", "prod", terraform)
    assert (gcp.machine_type, gcp.accelerator, gcp.spot) == ("g2-standard-8", "nvidia-l4", False)
    assert gcp.min >= 1


def test_a_gpu_class_a_cloud_lacks_or_an_unknown_cloud_is_an_error(terraform: Terraform) -> None:
    with pytest.raises(CloudinfraError, match=r"gcp offers no a10 GPU"):
        catalog("gcp", "a10", "dev", terraform)
    with pytest.raises(IacError, match="cloud must be aws, gcp or azure"):
        catalog("oracle", "t4", "dev", terraform)
    with pytest.raises(CloudinfraError, match=r"no staging\.tfvars for aws; have dev, prod"):
        tfvars_file("aws", "staging")
