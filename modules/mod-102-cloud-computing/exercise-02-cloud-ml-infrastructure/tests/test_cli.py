from __future__ import annotations

import json
from pathlib import Path

from cloudinfra.cli import app
from typer.testing import CliRunner


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("check", "test", "validate", "compare", "plan-summary", "demo"):
        assert command in result.output


def test_compare_shows_every_cloud_and_environment() -> None:
    result = CliRunner().invoke(app, ["compare"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in (
        "SageMaker + EKS",
        "Vertex AI + GKE",
        "Azure ML + AKS",
        "n1-standard-8 + nvidia-tesla-t4",
    ):
        assert text in result.output
    assert result.output.count(" dev ") == 3
    assert result.output.count(" prod ") == 3


def test_plan_summary_of_a_plan_document(tmp_path: Path) -> None:
    plan = {
        "terraform_version": "1.11.4",
        "resource_changes": [
            {
                "address": "module.ml.google_storage_bucket.ml",
                "module_address": "module.ml",
                "type": "google_storage_bucket",
                "change": {"actions": ["delete", "create"]},
            },
            {
                "address": "module.ml.google_kms_crypto_key.ml",
                "module_address": "module.ml",
                "type": "google_kms_crypto_key",
                "change": {"actions": ["no-op"]},
            },
        ],
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    result = CliRunner().invoke(
        app, ["plan-summary", str(tmp_path / "plan.json")], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "1 to no-op, 1 to replace" in result.output
    assert "replace module.ml.google_storage_bucket.ml" in result.output


def test_the_aws_module_test_names_what_the_module_declares() -> None:
    """aws-ml's mock_provider test cannot run here (no registry for the provider's schema)."""
    from cloudinfra.paths import terraform_dir

    from aiinfra_shared.iac.interface import check_test_files

    modules = terraform_dir() / "modules"
    assert check_test_files(modules / "aws-ml") == []
    assert check_test_files(modules / "gpu-catalog") == []


def test_a_test_file_naming_the_wrong_things_is_caught(tmp_path: Path) -> None:
    import shutil

    from cloudinfra.paths import terraform_dir

    from aiinfra_shared.iac.interface import check_test_files

    module = tmp_path / "aws-ml"
    shutil.copytree(terraform_dir() / "modules" / "aws-ml", module)
    test = module / "tests" / "aws_ml.tftest.hcl"
    text = test.read_text().replace("aws_eks_cluster.ml.", "aws_eks_cluster.gone.")
    test.write_text(text.replace("expect_failures = [var.name]", "expect_failures = [var.nam]"))
    problems = check_test_files(module)
    assert any("reads aws_eks_cluster.gone" in p for p in problems), problems
    assert any("expects a failure of" in p for p in problems), problems


def test_check_refuses_a_path_with_no_terraform(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "cloudinfra"
    for target, expected in ((tmp_path / "missing", "no such folder"),
                             (tmp_path, "no Terraform files")):  # fmt: skip
        env = os.environ | {"COLUMNS": "200"}
        done = subprocess.run([str(exe), "check", "--path", str(target)], capture_output=True,
                              text=True, check=False, env=env)  # fmt: skip
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"error: {expected}")
        assert "pass" not in done.stdout
