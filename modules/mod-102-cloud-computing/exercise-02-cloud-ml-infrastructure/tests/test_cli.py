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
