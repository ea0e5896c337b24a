"""The ``mlcicd`` command: a verdict exits 0 or 3, every bad input is one line and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlcicd.cli import app
from mlcicd.config import Settings
from mlcicd.data import generate, write_csv
from typer.testing import CliRunner


def _mlcicd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLCICD_")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "mlcicd", *args], capture_output=True, text=True, check=False,
        timeout=240, cwd=cwd, env=env,
    )  # fmt: skip


def _one_line_error(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "stage", "gate", "register", "versions", "serve", "smoke",
                    "deploy", "demo"):  # fmt: skip
        assert command in result.output


def test_a_bad_option_is_one_line_and_exit_2() -> None:
    _one_line_error(_mlcicd("demo", "--no-such-option"), code=2)


def test_the_data_gate_exits_0_on_clean_data_and_3_on_drift(tmp_path: Path) -> None:
    ref = write_csv(generate(1000, 1), tmp_path / "ref.csv")
    same = write_csv(generate(1000, 2), tmp_path / "same.csv")
    drifted = write_csv(generate(1000, 3, income_scale=1.6), tmp_path / "drifted.csv")
    done = _mlcicd("gate", "data", str(same), "--reference", str(ref))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED" in done.stdout
    summary = tmp_path / "gate.md"
    done = _mlcicd("gate", "data", str(drifted), "--reference", str(ref), "--summary", str(summary))
    assert done.returncode == 3
    assert "income" in done.stdout
    assert summary.read_text().startswith("### data gate: FAILED")


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "empty file"), (b"income,age\n", "no rows"), (b"\xff\xfe\x00\x01" * 50, "not a CSV")],
    ids=["empty", "header-only", "binary"],
)
def test_unreadable_data_is_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    assert expected in _one_line_error(_mlcicd("gate", "data", str(bad)))


def test_missing_inputs_are_named(tmp_path: Path) -> None:
    message = _one_line_error(_mlcicd("gate", "data", str(tmp_path / "none.csv")))
    assert "no such data file" in message
    message = _one_line_error(_mlcicd("gate", "model", "--project", str(tmp_path)))
    assert "no model file" in message
    message = _one_line_error(_mlcicd("stage", "evaluate", "--project", str(tmp_path)))
    assert "no model file" in message
    message = _one_line_error(_mlcicd("stage", "deploy"))
    assert "unknown stage" in message


def test_a_corrupt_model_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "model.pkl").write_bytes(b"\x80\x04garbage")
    assert "not a model file" in _one_line_error(
        _mlcicd("gate", "model", "--project", str(tmp_path))
    )


def test_a_params_file_with_a_wrong_type_names_the_field(tmp_path: Path) -> None:
    write_csv(generate(300, 1), tmp_path / "data" / "raw.csv")
    (tmp_path / "params.yaml").write_text("prepare:\n  test_size: half\n")
    message = _one_line_error(_mlcicd("stage", "prepare", "--project", str(tmp_path)))
    assert "prepare.test_size" in message


def test_registry_commands_on_an_unknown_version(production: Settings) -> None:
    registry = str(production.registry)
    for args in (("serve", "--version", "99"), ("deploy", "--version", "99")):
        message = _one_line_error(_mlcicd(*args, "--registry", registry))
        assert "no version 99" in message
    message = _one_line_error(_mlcicd("deploy", "--registry", registry, "--steps", "50,20"))
    assert "steps" in message


def test_init_and_gates_on_a_project(project_dir: Path, tmp_path: Path) -> None:
    done = _mlcicd("init", str(project_dir))
    assert "not empty" in _one_line_error(done)
    done = _mlcicd("gate", "model", "--project", str(project_dir), "--base", "no-such-rev")
    assert "no-such-rev" in _one_line_error(done)
    summary = tmp_path / "model.md"
    done = _mlcicd("gate", "model", "--project", str(project_dir), "--summary", str(summary))
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary.read_text().startswith("### model gate: PASSED")
