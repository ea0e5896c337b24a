from __future__ import annotations

import json
import os
import subprocess
import sys
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
