from __future__ import annotations

import json
from pathlib import Path

import pytest
from fwbench.cli import app, main
from typer.testing import CliRunner

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "report", "models", "demo"):
        assert command in result.output


def test_models_prints_equal_counts() -> None:
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    # the cnn's count in torch and jax (and in tensorflow when the extra is installed)
    assert result.output.count("136,874") >= 2
    assert "not installed" in result.output or "(-0.49%)" in result.output


def test_quick_run_then_report_again(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    args = ["run", "--quick", "--frameworks", "torch", "--models", "lstm", "--threads", "1",
            "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "results.json").read_text())
    assert [(r["framework"], r["status"]) for r in doc["results"]] == [("torch", "ok")]
    assert (out / "report.html").exists()
    assert (out / "training.png").exists()
    again = runner.invoke(app, ["report", str(out / "results.json"), "--out", str(tmp_path / "r2")])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "r2" / "report.md").read_text() == (out / "report.md").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--frameworks", "mxnet"], "unknown framework mxnet"),
        (["run", "--frameworks", ""], "no framework given"),
        (["run", "--models", "resnet"], "unknown model resnet"),
        (["run", "--cpus", "0-x"], "expected a list like 0,1"),
        (["run", "--cpus", "4096"], "not available here"),
        (["run", "--threads", "0"], "must be 1 or more"),
        (["run", "--device", "tpu"], "expected cpu or cuda"),
        pytest.param(
            ["run", "--device", "cuda"],
            "no CUDA device",
            marks=pytest.mark.skipif(
                __import__("torch").cuda.is_available(), reason="this machine has CUDA"
            ),
        ),
        (["report", "/nonexistent/results.json"], "no such results file"),
        (["report", "EMPTY"], "not a readable JSON"),
        (["report", "OTHER"], "schema 'fwbench/1' expected"),
    ],
)
def test_bad_input_is_one_line(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "other.json").write_text('{"schema": "mlflow"}')
    args = [
        {"EMPTY": str(tmp_path / "empty.json"), "OTHER": str(tmp_path / "other.json")}.get(a, a)
        for a in args
    ]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["fwbench", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # nothing measured, nothing written
