"""checkov (with our custom checks and severity table) as the policy gate."""

from __future__ import annotations

import re
from pathlib import Path

from tfml.gate import gate

from aiinfra_shared.iac.checkov import CheckovReport


def _high(report: CheckovReport) -> set[tuple[str, str]]:
    return {(f.check_id, f.resource) for f in report.at("HIGH")}


def test_shipped_tree_passes_the_gate(tree_report: CheckovReport) -> None:
    assert tree_report.resources >= 40
    assert tree_report.at("HIGH") == []
    assert tree_report.unexplained_skips == []
    assert tree_report.ok
    # What it still reports is dev's deliberate trade-offs, at MEDIUM or below.
    assert {f.check_id for f in tree_report.failed} <= {
        "CKV_AWS_39", "CKV_AWS_157", "CKV_AWS_293", "CKV_AWS_133",
    }  # fmt: skip


def test_every_inline_skip_in_the_tree_has_a_reason(tree_report: CheckovReport) -> None:
    from tfml.paths import terraform_dir

    comments = re.findall(r"#checkov:skip=([A-Z0-9_]+):(.+)", "\n".join(
        p.read_text() for p in terraform_dir().rglob("*.tf")
    ))  # fmt: skip
    assert {c for c, _ in comments} == {s.check_id for s in tree_report.skipped}
    assert all(len(reason.strip()) > 20 for _, reason in comments)


def test_insecure_fixture_fails_the_gate_on_every_planted_problem(
    insecure_report: CheckovReport,
) -> None:
    assert not insecure_report.ok
    assert _high(insecure_report) >= {
        ("CKV_AWS_145", "aws_s3_bucket.artifacts"),  # no KMS encryption
        ("CKV2_AWS_6", "aws_s3_bucket.artifacts"),  # no public access block
        ("CKV_AWS_16", "aws_db_instance.mlflow"),  # unencrypted database
        ("CKV_AWS_17", "aws_db_instance.mlflow"),  # public database
        ("CKV2_TFML_1", "aws_security_group.db"),  # 5432 open to 0.0.0.0/0 (custom)
        ("CKV2_TFML_2", "aws_vpc_security_group_ingress_rule.ssh"),  # custom
        ("CKV_AWS_24", "aws_vpc_security_group_ingress_rule.ssh"),  # SSH open (built-in)
        ("CKV2_TFML_3", "aws_security_group_rule.db_world"),  # custom, legacy resource
    }
    assert [(s.check_id, s.resource) for s in insecure_report.unexplained_skips] == [
        ("CKV_AWS_23", "aws_security_group_rule.db_world")
    ]


def test_disabling_bucket_encryption_in_the_module_fails_the_gate(tree: Path, checkov: str) -> None:
    storage = tree / "modules" / "storage"
    main = storage / "main.tf"
    text = main.read_text()
    start = text.index('resource "aws_s3_bucket_server_side_encryption_configuration"')
    end = text.index('resource "aws_s3_bucket_versioning"')
    main.write_text(text[:start] + text[end:])
    report = gate(storage)
    assert ("CKV_AWS_145", "aws_s3_bucket.artifacts") in _high(report)
    assert not report.ok


def test_opening_the_database_to_the_internet_fails_the_gate(tree: Path, checkov: str) -> None:
    database = tree / "modules" / "database"
    main = database / "main.tf"
    main.write_text(
        main.read_text().replace("cidr_blocks = var.allowed_cidrs", 'cidr_blocks = ["0.0.0.0/0"]')
    )
    report = gate(database)
    assert ("CKV2_TFML_1", "aws_security_group.db") in _high(report)
