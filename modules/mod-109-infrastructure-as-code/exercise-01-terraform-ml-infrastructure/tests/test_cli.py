from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tfml.cli import app
from typer.testing import CliRunner

FIXTURES = Path(__file__).parent / "fixtures"


def _tfml(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "tfml"
    env = os.environ | {"COLUMNS": "200"}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, check=False)


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("modules", "fmt", "test", "validate", "check", "cost", "plan-summary", "demo"):
        assert command in result.output


def test_modules_and_cost_commands() -> None:
    done = _tfml("modules")
    assert done.returncode == 0, done.stderr
    assert "interfaces ok" in done.stdout
    done = _tfml("cost", "--env", "dev")
    assert done.returncode == 0, done.stderr
    assert "GPU nodes" in done.stdout
    assert "total" in done.stdout


def test_check_exits_1_on_the_insecure_fixture(checkov: str) -> None:
    done = _tfml("check", "--path", str(FIXTURES / "insecure"))
    assert done.returncode == 1
    assert "gate: FAIL" in done.stdout
    assert "CKV2_TFML_1" in done.stdout


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    done = _tfml("cost", "--env", "qa")
    assert done.returncode == 1
    assert "unknown environment(s) ['qa']" in done.stderr
    (tmp_path / "plan.json").write_text(json.dumps({"format_version": "1.2"}))
    done = _tfml("plan-summary", str(tmp_path / "plan.json"))
    assert done.returncode == 1
    assert "not a plan" in done.stderr
    assert "Traceback" not in done.stderr


def test_check_and_fmt_refuse_a_path_with_no_terraform(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.md").write_text("no terraform here")
    for args, expected in (
        (("check", "--path", str(tmp_path / "missing")), "no such folder"),
        (("check", "--path", str(tmp_path / "empty")), "no Terraform files"),
        (("check", "--path", str(tmp_path / "notes")), "no Terraform files"),
        (("fmt", "--path", str(tmp_path / "empty")), "no Terraform files"),
    ):
        done = _tfml(*args)
        assert done.returncode == 1, (args, done.stdout)
        assert "pass" not in done.stdout
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert expected in done.stderr


def test_validate_exits_1_on_an_invalid_root_and_strict_refuses_skips(tmp_path: Path) -> None:
    from aiinfra_shared.cliapp import console
    from aiinfra_shared.iac.terraform import (
        Terraform,
        Validation,
        report_validations,
        validate_roots,
    )

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "main.tf").write_text('output "x" {\n  value = var.not_declared\n}\n')
    fine = tmp_path / "fine"
    fine.mkdir()
    (fine / "main.tf").write_text('resource "terraform_data" "x" {\n  input = "ok"\n}\n')

    @contextmanager
    def at(folder: Path) -> Iterator[Path]:
        yield folder

    results = validate_roots(Terraform.find(), {"broken": lambda: at(broken),
                                                "fine": lambda: at(fine)})  # fmt: skip
    assert [(r.name, r.status) for r in results] == [("broken", "invalid"), ("fine", "valid")]
    assert "Reference to undeclared input variable" in results[0].detail
    assert report_validations(console, results, strict=False) == 1
    assert report_validations(console, results[1:], strict=False) == 0
    skipped = [*results[1:], Validation("aws", "skipped", "no registry")]
    assert report_validations(console, skipped, strict=False) == 0
    assert report_validations(console, skipped, strict=True) == 1


def test_module_tests_parse_and_name_what_the_module_declares() -> None:
    """The AWS modules' mock_provider tests cannot run here (the mock needs the provider's
    schema, so `terraform init` must reach the registry): check them statically instead."""
    from tfml.paths import modules

    from aiinfra_shared.iac.interface import check_test_files

    tested = [name for name, path in modules().items() if any(path.glob("tests/*.tftest.hcl"))]
    assert {"naming", "storage", "database"} <= set(tested)
    for name in tested:
        assert check_test_files(modules()[name]) == [], name
