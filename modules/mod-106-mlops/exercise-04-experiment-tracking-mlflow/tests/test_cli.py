"""The ``exptrack`` command as a user runs it: a subprocess, exit codes, one-line errors."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from exptrack import registry
from exptrack.cli import app
from exptrack.data import load_dataset
from exptrack.errors import ExptrackError
from mlflow import MlflowClient
from typer.testing import CliRunner

pytestmark = pytest.mark.integration


def _run(
    *args: str, uri: str | None, timeout: float = 600, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "", "COLUMNS": "200"}
    env.pop("MLFLOW_TRACKING_URI", None)
    if uri:
        env["MLFLOW_TRACKING_URI"] = uri
    return subprocess.run(
        [sys.executable, "-m", "exptrack", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
        check=False,
    )


def _invoke(*args: str) -> tuple[int, str, BaseException | None]:
    """Run the app in-process (no new interpreter: mlflow and torch are imported already)."""
    result = CliRunner().invoke(app, list(args))
    text = result.output
    with contextlib.suppress(ValueError):
        text += result.stderr
    return result.exit_code, text, result.exception


def test_no_server_is_a_clear_error() -> None:
    # The real entry point in a new process: one line on stderr, exit 1, no traceback.
    done = _run("models", uri=None, timeout=120)
    assert done.returncode == 1
    assert "no tracking server: pass --tracking-uri or set MLFLOW_TRACKING_URI" in done.stderr
    assert "Traceback" not in done.stderr
    code, _, exc = _invoke("models", "--tracking-uri", "http://127.0.0.1:9")
    assert code == 1
    assert "no MLflow server at http://127.0.0.1:9" in str(exc)


def test_bad_input_gives_plain_errors(tracking_uri: str) -> None:
    cases = [
        (["compare", "-e", "no-such-experiment"], "unknown experiment 'no-such-experiment'"),
        (["models", "-m", "no-such-model"], "registered model 'no-such-model': not found"),
        (["promote", "-e", "no-such-experiment"], "unknown experiment"),
        (["train", "--kind", "svm"], "unknown model kind 'svm'"),
        (["train", "--kind", "forest", "--params", "depth=2"], "forest has no parameter 'depth'"),
        (["predict", "-m", "no-such-model"], "registered model 'no-such-model': not found"),
        (["rollback", "-m", "no-such-model"], "registered model 'no-such-model': not found"),
    ]
    for args, message in cases:
        code, output, exc = _invoke(*args)
        assert code == 1, (args, output)
        assert isinstance(exc, ExptrackError), (args, exc)
        assert message in str(exc), (args, str(exc))
    for args, message in (
        (["train", "--seed", "-1"], "seed"),
        (["train", "-k", "mlp", "-p", "hidden=100000000"], "mlp.hidden must be in (0, 4096]"),
        (["train", "-k", "mlp", "-p", "epochs=1000000000"], "mlp.epochs must be in"),
    ):
        done = _run(*args, uri=tracking_uri, timeout=120)
        assert done.returncode == 1, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, (args, done.stderr)
        assert message in lines[0]
        assert "errors.pydantic.dev" not in lines[0]


def test_train_promote_refuse_rollback_and_predict_through_the_cli(
    tracking_uri: str, tmp_path: Path
) -> None:
    exp, model = "cli-flow", "cli-model"
    loose = ("--min-accuracy", "0.8", "--min-f1", "0.8")
    code, out, _ = _invoke("train", "-k", "forest", "-p", "n_estimators=10,max_depth=1", "-e", exp)
    assert code == 0, out
    assert "val_f1" in out
    code, out, _ = _invoke("promote", "-e", exp, "-m", model, *loose)
    assert code == 0, out
    assert f"{model} v1 is champion (was none)" in out

    # A weak run, promoted explicitly: exit 3, the reasons, champion unchanged.
    code, out, _ = _invoke("train", "-k", "logreg", "-p", "alpha=5,epochs=1", "-e", exp)
    assert code == 0, out
    client = MlflowClient(tracking_uri)
    weak_run = client.search_runs(
        [client.get_experiment_by_name(exp).experiment_id],
        filter_string="params.model_kind = 'logreg'",
    )[0].info.run_id
    code, out, _ = _invoke("promote", "-e", exp, "-m", model, "--run-id", weak_run, *loose)
    assert code == 3, out
    assert "FAIL vs_champion" in out
    assert "champion unchanged" in out
    assert str(registry.alias_version(client, model, "champion").version) == "1"

    code, out, _ = _invoke("models", "-m", model)
    assert code == 0
    assert "refused" in out
    assert "passed" in out

    # Predict from a CSV through the champion; a missing alias is a clear error.
    csv = tmp_path / "rows.csv"
    load_dataset().holdout.head(4).drop(columns=["target"]).to_csv(csv, index=False)
    code, out, _ = _invoke("predict", "-m", model, "--input", str(csv))
    assert code == 0, out
    assert "models:/cli-model@champion" in out
    code, _, exc = _invoke("predict", "-m", model, "--alias", "nope")
    assert code == 1
    assert "cli-model has no alias 'nope' (aliases: challenger, champion)" in str(exc)

    code, out, _ = _invoke("compare", "-e", exp, "--out", str(tmp_path / "report"))
    assert code == 0, out
    assert (tmp_path / "report" / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert weak_run in (tmp_path / "report" / "compare.html").read_text()

    code, _, exc = _invoke("rollback", "-m", model)
    assert code == 1
    assert "was the first champion: nothing to roll back to" in str(exc)


@pytest.mark.slow
def test_demo_on_a_running_server(tracking_uri: str, tmp_path: Path) -> None:
    env_exp = {"EXPTRACK_EXPERIMENT": "demo", "EXPTRACK_MODEL_NAME": "demo-model"}
    os.environ.update(env_exp)
    try:
        # Two trials instead of six: the same story (sweep, champion, refused challenger,
        # report, prediction) at a third of the cost; the sweep itself has its own tests.
        trials = ("-t", "logreg:alpha=0.0001", "-t", "forest:max_depth=3")
        done = _run("demo", "--out", str(tmp_path), *trials, uri=tracking_uri)
    finally:
        for key in env_exp:
            os.environ.pop(key)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "is champion" in done.stdout
    assert "refused" in done.stdout
    assert f"MLflow UI: {tracking_uri}" in done.stdout.replace("\n", " ")
    versions = registry.versions_table(MlflowClient(tracking_uri), "demo-model")
    assert list(versions["gate"]) == ["passed", "refused"]
    assert (tmp_path / "compare.html").exists()


def _start_training(uri: str, experiment: str) -> tuple[subprocess.Popen[str], str]:
    """`exptrack train` of a long mlp in the background, and the id of its run once it shows."""
    import time

    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    proc = subprocess.Popen(
        [sys.executable, "-m", "exptrack", "train", "--kind", "mlp", "-p", "epochs=10000",
         "--experiment", experiment],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    client = MlflowClient(uri)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = client.get_experiment_by_name(experiment)
        runs = client.search_runs([found.experiment_id]) if found else []
        if runs and runs[0].data.metrics:  # training has logged epochs: it is under way
            return proc, runs[0].info.run_id
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the training run never showed up")


def test_sigterm_ends_the_run_failed_not_running(
    tracking_uri: str, request: pytest.FixtureRequest
) -> None:
    import signal

    proc, run_id = _start_training(tracking_uri, f"sigterm-{request.node.name[:20]}")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err
    assert "Traceback" not in err
    assert MlflowClient(tracking_uri).get_run(run_id).info.status == "FAILED"


def test_a_killed_run_is_marked_failed_by_the_next_command(
    tracking_uri: str, request: pytest.FixtureRequest
) -> None:
    import signal

    from exptrack.server import connect

    experiment = f"sigkill-{request.node.name[:20]}"
    proc, run_id = _start_training(tracking_uri, experiment)
    proc.send_signal(signal.SIGKILL)  # no handler runs: the run stays RUNNING
    proc.communicate(timeout=60)
    client = MlflowClient(tracking_uri)
    assert client.get_run(run_id).info.status == "RUNNING"
    connect(tracking_uri, experiment)  # what every exptrack command does first
    run = client.get_run(run_id)
    assert run.info.status == "FAILED"
    assert f"process {proc.pid}" in run.data.tags["exptrack.orphaned"]
