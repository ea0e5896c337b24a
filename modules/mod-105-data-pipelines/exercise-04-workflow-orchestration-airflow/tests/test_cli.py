"""The ``airflowml`` command, run as a learner runs it (a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from airflowml.config import AirflowmlSettings

pytestmark = pytest.mark.integration


def airflowml(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "airflowml", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_run_shows_every_task_and_models_shows_the_deployed_version(
    settings: AirflowmlSettings,
) -> None:
    done = airflowml(
        settings.home,
        "run",
        "ml_training_pipeline",
        "-p",
        "model_name=cli-model",
        "-p",
        "n_rows=600",
        "--param",
        'grid=[{"kind": "logreg", "C": 1.0}]',
    )
    assert done.returncode == 0, done.stderr
    for task in ("ingest", "validate", "train[0]", "evaluate[0]", "register", "deploy"):
        assert task in done.stdout
    assert "SUCCESS in" in done.stdout
    log = next((settings.airflow_home / "logs" / "runs").glob("ml_training_pipeline-*.log"))
    assert "deploy_gate" in log.read_text()  # the task logs went to the file, not the screen

    models = airflowml(settings.home, "models", "-m", "cli-model")
    assert models.returncode == 0, models.stderr
    assert "v1" in models.stdout
    assert "logreg-C=1.0" in models.stdout
    assert "yes" in models.stdout


def test_a_failed_run_exits_1_with_the_reason(settings: AirflowmlSettings) -> None:
    done = airflowml(
        settings.home,
        "run",
        "ml_training_pipeline",
        "-p",
        "model_name=cli-bad",
        "-p",
        "inject_nulls=0.3",
    )
    assert done.returncode == 1
    assert (
        "failed: validate: AirflowFailException: raw.csv failed validation: monthly_charges:"
        in (" ".join(done.stderr.split()))
    )


def test_user_mistakes_are_one_line_errors(settings: AirflowmlSettings) -> None:
    cases = [
        (("run", "nope"), "no DAG 'nope'"),
        (("run", "ml_training_pipeline", "--conf", "{bad"), "--conf is not JSON"),
        (
            ("run", "ml_training_pipeline", "-p", "n_rows=3"),
            "invalid conf for ml_training_pipeline",
        ),
        (("run", "ml_training_pipeline", "-p", "nrows"), "--param wants key=value"),
        (("models", "-m", "never-trained"), "model never-trained has no versions yet"),
    ]
    for args, message in cases:
        done = airflowml(settings.home, *args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    done = airflowml(tmp_path / "unused", "demo", timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    assert "1. train, register, deploy v1" in out
    assert "ingest              │ success │ 3" in out  # the flaky ingest, on its third try
    assert "keep_current" in out
    assert '"model_version": 1' in out  # batch scored by v1: the degraded v2 was kept out
    assert "usage_gb: mean moved" in out  # the drifted snapshot was stopped
