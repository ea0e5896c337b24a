"""aiinfra_shared.iac without Terraform or checkov: parsing, interfaces, plans, severities.

The Terraform runner and the checkov gate run for real in 109-01's and 102-02's suites.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aiinfra_shared.iac import checkov
from aiinfra_shared.iac.errors import IacError
from aiinfra_shared.iac.hcl import load
from aiinfra_shared.iac.interface import check_tree
from aiinfra_shared.iac.plan import summarize

MODULE = """
variable "name" {
  description = "Name."
  type        = string
}

variable "size" {
  description = "Size."
  type        = number
  default     = 1
}

output "id" {
  description = "The id."
  value       = "${var.name}-${var.size}"
}
"""


def _write(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.tf").write_text(text)


def test_load_reads_variables_outputs_and_calls(tmp_path: Path) -> None:
    _write(tmp_path / "modules" / "m", MODULE)
    _write(tmp_path / "root", 'module "m" {\n  source = "../modules/m"\n  name   = "x"\n}\n')
    mod = load(tmp_path / "modules" / "m")
    assert mod.variables["name"].type == "string"
    assert (mod.variables["size"].has_default, mod.variables["size"].default) == (True, 1)
    assert mod.outputs["id"].description == "The id."
    root = load(tmp_path / "root")
    assert root.modules["m"].body == {"source": "../modules/m", "name": "x"}
    assert check_tree(tmp_path) == []


def test_interface_findings(tmp_path: Path) -> None:
    _write(tmp_path / "modules" / "m", MODULE.replace('  description = "Size."\n', ""))
    _write(
        tmp_path / "root",
        'module "m" {\n  source = "../modules/m"\n  nam = "x"\n}\n'
        'output "o" {\n  value = module.m.arn\n}\n',
    )
    assert sorted(str(f) for f in check_tree(tmp_path)) == [
        "error: m/main.tf: variable 'size': has no description",
        "error: root/main.tf: module 'm': does not pass required variable 'name'",
        "error: root/main.tf: module 'm': passes 'nam', which m does not declare",
        "error: root/main.tf: module 'm': reads output 'arn', which m does not declare",
        "error: root/main.tf: output 'o': has no description",
    ]


def test_plan_summary_counts_actions() -> None:
    plan = {
        "terraform_version": "1.11.4",
        "resource_changes": [
            {"address": "a.x", "type": "a", "change": {"actions": ["create"]}},
            {
                "address": "module.m.b.y",
                "module_address": "module.m",
                "type": "b",
                "change": {"actions": ["delete", "create"]},
            },
            {"address": "c.z", "type": "c", "change": {"actions": ["delete"]}},
        ],
    }
    summary = summarize(plan)
    assert summary.counts() == {"create": 1, "replace": 1, "destroy": 1}
    assert [c.address for c in summary.destructive] == ["module.m.b.y", "c.z"]
    with pytest.raises(IacError, match="not a plan"):
        summarize({"values": {}})


def test_severity_table_baseline_and_overrides(tmp_path: Path) -> None:
    table = checkov.severities()
    assert table["CKV_AWS_16"] == "HIGH"
    assert table["CKV_GCP_114"] == "HIGH"
    assert table["CKV_AWS_157"] == "MEDIUM"
    (tmp_path / "severity.yaml").write_text("LOW:\n  CKV_AWS_157: fine for this exercise\n")
    assert checkov.severities([tmp_path])["CKV_AWS_157"] == "LOW"


def test_missing_checkov_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkov.shutil, "which", lambda _name: None)
    with pytest.raises(checkov.CheckovMissingError, match=r"uv tool install checkov==3\.3\.30"):
        checkov.find_checkov()


def test_a_failed_check_no_table_rates_fails_the_gate(tmp_path: Path) -> None:
    from aiinfra_shared.iac.checkov import UNRATED, CheckovReport, _finding, severities

    table = severities()
    raw = {"check_id": "CKV_NEW_999", "check_name": "a check from a newer checkov",
           "resource": "aws_x.y", "file_path": "/main.tf", "file_line_range": [1, 2]}  # fmt: skip
    finding = _finding(raw, table, tmp_path)
    assert finding.severity == UNRATED
    report = CheckovReport(failed=[finding])
    assert report.unrated == [finding]
    assert not report.ok
    assert "1 unrated" in report.headline
    rated = _finding({**raw, "check_id": "CKV_AWS_157"}, table, tmp_path)  # MEDIUM in the table
    assert CheckovReport(failed=[rated]).ok


@pytest.mark.parametrize("layout", ["missing", "file", "empty", "no-tf"])
def test_checkov_and_fmt_refuse_a_path_without_terraform(tmp_path: Path, layout: str) -> None:
    from aiinfra_shared.iac.checkov import require_terraform
    from aiinfra_shared.iac.errors import IacError

    target = tmp_path / "tree"
    if layout == "file":
        target.write_text("x")
    elif layout in ("empty", "no-tf"):
        target.mkdir()
        if layout == "no-tf":
            (target / "README.md").write_text("text")
    with pytest.raises(IacError):
        require_terraform(target)
