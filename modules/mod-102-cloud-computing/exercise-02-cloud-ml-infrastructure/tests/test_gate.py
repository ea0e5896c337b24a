"""The checkov gate: 109-01's AWS checks plus this exercise's GCP/Azure checks and table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cloudinfra.cli import gate
from cloudinfra.paths import terraform_dir

FIXTURES = Path(__file__).parent / "fixtures"


def _high(report: object) -> set[tuple[str, str]]:
    return {(f.check_id, f.resource) for f in report.at("HIGH")}  # type: ignore[attr-defined]


def test_shipped_stacks_pass_with_nothing_left_to_report(checkov: str) -> None:
    report = gate(terraform_dir())
    assert report.resources >= 40
    assert report.failed == []
    assert report.unexplained_skips == []
    assert report.ok


def test_insecure_fixture_fails_on_every_planted_problem(checkov: str) -> None:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "cloudinfra"),
            "check",
            "--path",
            str(FIXTURES / "insecure"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"COLUMNS": "250"},
    )
    assert done.returncode == 1
    assert "FAIL" in done.stdout
    report = gate(FIXTURES / "insecure")
    assert _high(report) >= {
        ("CKV_GCP_114", "google_storage_bucket.public"),  # no public access prevention
        ("CKV_GCP_29", "google_storage_bucket.public"),  # object ACLs allowed
        ("CKV_GCP_28", "google_storage_bucket_iam_member.world"),  # allUsers
        ("CKV2_CLOUDML_1", "google_compute_firewall.db"),  # 5432 from 0.0.0.0/0 (custom)
        ("CKV_AZURE_190", "azurerm_storage_account.public"),  # public blobs
        ("CKV_AZURE_44", "azurerm_storage_account.public"),  # TLS 1.0
        ("CKV2_CLOUDML_3", "azurerm_storage_account.public"),  # plain HTTP (custom)
        ("CKV2_CLOUDML_2", "azurerm_network_security_rule.db"),  # 5432 from * (custom)
    }
    for check in ("CKV2_CLOUDML_1", "CKV2_CLOUDML_2", "CKV2_CLOUDML_3", "CKV_GCP_28"):
        assert check in done.stdout


def test_weakening_a_module_fails_the_gate(tree: Path, checkov: str) -> None:
    gcp = tree / "modules" / "gcp-ml" / "main.tf"
    gcp.write_text(gcp.read_text().replace('public_access_prevention    = "enforced"\n', ""))
    azure = tree / "modules" / "azure-ml" / "main.tf"
    azure.write_text(
        azure.read_text().replace(
            "allow_nested_items_to_be_public = false", "allow_nested_items_to_be_public = true"
        )
    )
    report = gate(tree / "modules")
    assert _high(report) == {
        ("CKV_GCP_114", "google_storage_bucket.ml"),
        ("CKV_AZURE_190", "azurerm_storage_account.ml"),
        ("CKV2_AZURE_47", "azurerm_storage_account.ml"),
    }
    assert not report.ok
