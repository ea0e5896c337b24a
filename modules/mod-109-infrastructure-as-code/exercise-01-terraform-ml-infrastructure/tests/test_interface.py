from __future__ import annotations

from pathlib import Path

import pytest
from tfml.paths import environments, modules, terraform_dir

from aiinfra_shared.iac.errors import IacError
from aiinfra_shared.iac.hcl import load
from aiinfra_shared.iac.interface import check_tree


def test_shipped_tree_has_clean_interfaces() -> None:
    assert check_tree(terraform_dir()) == []
    assert set(modules()) == {
        "naming",
        "network",
        "kubernetes",
        "storage",
        "database",
        "monitoring",
    }
    assert set(environments()) == {"dev", "prod"}


def test_every_module_validates_inputs_and_environments_use_remote_state() -> None:
    for name, path in modules().items():
        cfg = load(path)
        assert any(v.validations for v in cfg.variables.values()), f"{name} validates nothing"
        assert cfg.outputs, f"{name} exports nothing"
    for env, path in environments().items():
        backend = load(path).backend
        assert backend is not None, env
        assert list(backend) == ["s3"]
        assert backend["s3"]["use_lockfile"] is True
        assert backend["s3"]["encrypt"] is True
        assert backend["s3"]["key"] == f"mlplat/{env}/terraform.tfstate"


def test_interface_problems_are_each_reported(tree: Path) -> None:
    storage = tree / "modules" / "storage" / "variables.tf"
    storage.write_text(
        storage.read_text().replace(
            '  description = "Let terraform destroy a non-empty bucket (dev only)."\n', ""
        )
        + '\nvariable "unused" {\n  type        = string\n  description = "never read"\n}\n'
        + '\nvariable "untyped" {\n  description = "no type"\n  default     = 1\n}\n'
    )
    platform = tree / "platform" / "main.tf"
    platform.write_text(
        platform.read_text()
        .replace("  noncurrent_version_days = local.sizing.artifact_version_ttl\n", "")
        .replace("  force_destroy           =", "  force_destroyed =")
        .replace("module.storage.read_write_policy_arn", "module.storage.policy_arn")
    )
    found = {str(f) for f in check_tree(tree)}
    assert found == {
        "error: storage/variables.tf: variable 'force_destroy': has no description",
        "error: storage/variables.tf: variable 'unused': is declared but never used",
        "error: storage/variables.tf: variable 'untyped': has no type",
        "error: storage/variables.tf: variable 'untyped': is declared but never used",
        "error: platform/main.tf: module 'storage': passes 'force_destroyed', which storage "
        "does not declare",
        "error: platform/main.tf: module 'storage': does not pass required variable "
        "'noncurrent_version_days'",
        "error: platform/main.tf: module 'storage': does not pass required variable 'unused'",
        "error: platform/main.tf: module 'storage': reads output 'policy_arn', which storage "
        "does not declare",
    }


def test_invalid_hcl_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = \n')
    with pytest.raises(IacError, match=r"main\.tf: not valid HCL"):
        load(tmp_path)
    with pytest.raises(IacError, match=r"has no \.tf files"):
        load(tmp_path / "..")
