from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mlapi import model as model_lib
from mlapi.cli import app
from typer.testing import CliRunner

runner = CliRunner()


def test_train_writes_a_loadable_model(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--model-dir", str(tmp_path / "m"), "--epochs", "200"])
    assert result.exit_code == 0, result.output
    loaded = model_lib.load(tmp_path / "m")
    assert loaded.version in result.output
    assert loaded.metadata.epochs == 200


def test_predict_prints_the_species(model_dir: Path) -> None:
    result = runner.invoke(
        app, ["predict", "6.9", "3.2", "5.7", "2.3", "--model-dir", str(model_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "virginica" in result.output


def test_predict_rejects_a_negative_measurement(model_dir: Path) -> None:
    args = ["predict", "--model-dir", str(model_dir), "--", "5", "3", "-1", "0.2"]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code != 0
    assert "greater than 0" in result.output


def test_missing_model_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """Through the real console script: a user mistake is a message, never a traceback."""
    script = Path(sys.executable).parent / "mlapi"
    result = subprocess.run(
        [str(script), "predict", "5", "3", "1.4", "0.2", "--model-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "error: no trained model" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_training_data_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    script = Path(sys.executable).parent / "mlapi"
    result = subprocess.run(
        [str(script), "train", "--data", str(bad), "--model-dir", str(tmp_path / "m")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "missing column" in result.stderr
    assert not (tmp_path / "m").exists()


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    """What `aiinfra run 101-07` shows: trains, serves, calls every route, stops."""
    script = Path(sys.executable).parent / "mlapi"
    result = subprocess.run(
        [str(script), "demo", "--model-dir", str(tmp_path / "m"), "--requests", "20"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "No model yet: training one" in out or "Trained model" in out
    assert "server up at http://127.0.0.1:" in out
    for status in ("422", "413", "401", "403", "200"):
        assert status in out
    assert "mlapi_predictions_total" in out
    assert "server stopped" in out
    assert model_lib.load(tmp_path / "m").version
