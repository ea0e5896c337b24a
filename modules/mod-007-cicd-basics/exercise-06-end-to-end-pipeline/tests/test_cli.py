"""The ``e2epipe`` command: every bad input is one line on stderr and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from e2epipe.cli import app
from typer.testing import CliRunner


def _e2epipe(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("E2EPIPE_")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "e2epipe", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
        cwd=cwd,
        env=env,
    )


def _one_line_error(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def test_help_lists_every_stage_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("generate", "validate", "run", "versions", "serve", "demo"):
        assert command in result.output


def test_a_bad_option_is_one_line_and_exit_2() -> None:
    _one_line_error(_e2epipe("demo", "--no-such-option"), code=2)


def test_generate_then_validate_a_clean_file(tmp_path: Path) -> None:
    out = tmp_path / "c.parquet"
    done = _e2epipe("generate", str(out), "--rows", "300", "--seed", "5")
    assert done.returncode == 0, done.stderr
    assert "wrote 300 rows" in done.stdout
    done = _e2epipe("validate", str(out))
    assert done.returncode == 0, done.stderr
    assert "300 accepted" in done.stdout


def test_a_missing_data_file(tmp_path: Path) -> None:
    assert "no such data file" in _one_line_error(_e2epipe("validate", str(tmp_path / "nope.csv")))


def test_a_corrupted_parquet_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1" + os.urandom(300))
    message = _one_line_error(_e2epipe("validate", str(bad)))
    assert "broken.parquet" in message


def test_an_empty_csv(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty.csv" in _one_line_error(_e2epipe("validate", str(empty)))


def test_a_file_that_fails_validation_is_exit_1_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "wrong.csv"
    bad.write_text("customer_id,tenure_months\n1,2\n")
    message = _one_line_error(_e2epipe("validate", str(bad)))
    assert "column" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seed: many\n", "seed"),
        ("test_size: 2.5\n", "test_size"),
        ("- a list\n", "mapping"),
        ("seed: [unclosed\n", "YAML"),
        ("no_such_param: 1\n", "no_such_param"),
    ],
)
def test_a_params_file_with_a_wrong_type(
    tmp_path: Path, data_csv: Path, text: str, expected: str
) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(text)
    message = _one_line_error(
        _e2epipe(
            "run", "--data", str(data_csv), "--params", str(params), "--workdir", str(tmp_path)
        )
    )
    assert expected in message
    assert not (tmp_path / "mlflow.db").exists(), "nothing is registered from a bad run"


def test_versions_and_serve_without_a_registry(tmp_path: Path) -> None:
    for command in ("versions", "serve"):
        message = _one_line_error(_e2epipe(command, "--workdir", str(tmp_path / "none")))
        assert "no registry yet" in message


def test_versions_lists_the_champion(trained: Any) -> None:
    done = _e2epipe("versions", "--workdir", str(trained.settings.workdir))
    assert done.returncode == 0, done.stderr
    assert "champion" in done.stdout
    assert (
        "false" in done.stdout.lower()
    )  # the version that failed its checklist is listed, not served


def test_run_require_ready_exits_3_when_the_checklist_fails(tmp_path: Path, data_csv: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("thresholds:\n  min_roc_auc: 0.9999\n")
    done = _e2epipe(
        "run",
        "--data",
        str(data_csv),
        "--params",
        str(params),
        "--workdir",
        str(tmp_path / "w"),
        "--quick",
        "--require-ready",
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "min_roc_auc" in done.stdout or "ROC AUC" in done.stdout
    done = _e2epipe("versions", "--workdir", str(tmp_path / "w"))
    assert done.returncode == 0
    assert "champion" not in done.stdout, "a model that is not ready never becomes the champion"
