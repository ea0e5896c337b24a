"""The ``mlcicd`` command: a verdict exits 0 or 3, every bad input is one line and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from mlcicd.cli import app
from mlcicd.config import Settings
from mlcicd.data import generate, write_csv
from typer.testing import CliRunner


def _mlcicd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return _mlcicd_all([args], cwd=cwd)[0]


def _mlcicd_all(
    invocations: list[tuple[str, ...]], cwd: Path | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """Run independent ``mlcicd`` command lines at once (each one mostly waits on imports)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLCICD_")}
    env["COLUMNS"] = "200"
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(
            lambda args: subprocess.run(
                [sys.executable, "-m", "mlcicd", *args], capture_output=True, text=True,
                check=False, timeout=240, cwd=cwd, env=env,
            ),
            invocations,
        ))  # fmt: skip


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
    cases = {
        ("gate", "data", str(tmp_path / "none.csv")): "no such data file",
        ("gate", "model", "--project", str(tmp_path)): "no model file",
        ("stage", "evaluate", "--project", str(tmp_path)): "no model file",
        ("stage", "deploy"): "unknown stage",
    }
    for (args, expected), done in zip(cases.items(), _mlcicd_all(list(cases)), strict=True):
        assert expected in _one_line_error(done), args


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
    registry = ("--registry", str(production.registry))
    cases = {
        ("serve", "--version", "99", *registry): "no version 99",
        ("deploy", "--version", "99", *registry): "no version 99",
        ("deploy", "--steps", "50,20", *registry): "steps",
    }
    for (args, expected), done in zip(cases.items(), _mlcicd_all(list(cases)), strict=True):
        assert expected in _one_line_error(done), args


def test_reading_a_registry_that_is_not_there_does_not_create_one(tmp_path: Path) -> None:
    missing = tmp_path / "typo"
    commands = [("versions",), ("serve", "--alias", "production"), ("smoke",)]
    for done in _mlcicd_all([(*args, "--registry", str(missing)) for args in commands]):
        assert f"no registry at {missing}" in _one_line_error(done)
    assert not missing.exists()


def test_init_and_gates_on_a_project(project_dir: Path, tmp_path: Path) -> None:
    occupied, bad_rev = _mlcicd_all([
        ("init", str(project_dir)),
        ("gate", "model", "--project", str(project_dir), "--base", "no-such-rev"),
    ])  # fmt: skip
    assert "not empty" in _one_line_error(occupied)
    assert "no-such-rev" in _one_line_error(bad_rev)
    summary = tmp_path / "model.md"  # one DVC command at a time in one project
    done = _mlcicd("gate", "model", "--project", str(project_dir), "--summary", str(summary))
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary.read_text().startswith("### model gate: PASSED")
