"""The command line: generate + analyze end to end, clear errors, and the demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from driftwatch.cli import app
from driftwatch.config import DriftwatchSettings
from driftwatch.demo import run_demo
from rich.console import Console
from typer.testing import CliRunner

runner = CliRunner()


def test_generate_then_analyze_writes_report_and_summary(tmp_path: Path) -> None:
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    assert runner.invoke(app, ["generate", str(ref), "--rows", "1500"]).exit_code == 0
    done = runner.invoke(app, ["generate", str(cur), "--scenario", "severe", "--seed", "9"])
    assert done.exit_code == 0, done.output
    result = runner.invoke(
        app, ["analyze", str(ref), str(cur), "--out", str(tmp_path / "out"), "--fail-on-drift"]
    )
    assert result.exit_code == 2, result.output  # drift, and --fail-on-drift says so
    assert "DATASET DRIFT" in result.output
    summary = json.loads((tmp_path / "out" / "report.json").read_text())
    assert summary["dataset_drift"] is True
    assert summary["new_categories"] == {"employment": ["gig"]}
    assert (tmp_path / "out" / "report.html").stat().st_size > 100_000


def test_user_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "ref.csv").write_text("age,income\n1,2\n")
    done = subprocess.run(
        [sys.executable, "-m", "driftwatch", "analyze", str(tmp_path / "ref.csv"), "nope.csv"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "error:" in done.stderr
    assert "missing column(s)" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.integration
def test_demo_shows_drift_prometheus_and_the_retrain(tmp_path: Path) -> None:
    console = Console(record=True, width=160)
    settings = DriftwatchSettings(out_dir=tmp_path, reference_rows=1500, cooldown_windows=1)
    results = run_demo(settings, console, plan=("none", "severe", "severe"), rows=400)
    text = console.export_text()
    assert [r.drift.dataset_drift for r in results] == [False, True, True]
    assert results[2].request is not None
    assert "retrain requested at window 2" in text
    assert "driftwatch_dataset_drift" in text
    assert "DriftwatchDatasetDrift pending" in text
    assert len(list((tmp_path / "demo" / "reports").glob("*.html"))) == 3


def test_monitor_folder_twice_analyses_once_and_quarantines_bad_files(tmp_path: Path) -> None:
    import os

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    ref = tmp_path / "ref.csv"
    assert runner.invoke(app, ["generate", str(ref), "--rows", "600"]).exit_code == 0
    assert runner.invoke(app, ["generate", str(inbox / "001.csv"), "--rows", "200"]).exit_code == 0
    (inbox / "002.csv").write_text("garbage\n\x00\x01")
    env = {**os.environ, "DRIFTWATCH_OUT_DIR": str(tmp_path / "out"), "COLUMNS": "200"}
    args = [sys.executable, "-m", "driftwatch", "monitor", "--folder", str(inbox),
            "--reference", str(ref)]  # fmt: skip
    first = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    assert first.returncode == 0, first.stderr
    assert "002.csv: quarantined" in first.stdout
    assert "1 windows" in first.stdout
    second = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    assert second.returncode == 0, second.stderr
    assert "001.csv: skipped: analysed by an earlier run" in second.stdout
    assert "0 windows" in second.stdout
    assert (inbox / "quarantine" / "002.csv.reason.txt").is_file()
