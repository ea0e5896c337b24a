from __future__ import annotations

import json
from pathlib import Path

import pytest
from gpuperf.cli import app, main
from typer.testing import CliRunner

runner = CliRunner()
SMALL = ["--width", "8", "--image-size", "16"]


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("profile", "optimize", "find-batch", "report", "demo"):
        assert command in result.output


def test_profile_prints_a_verdict_and_writes_a_trace(tmp_path: Path) -> None:
    result = runner.invoke(app, ["profile", *SMALL, "--active", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "verdict: " in result.output
    assert "-bound" in result.output
    assert (tmp_path / "trace.json").exists()


def test_optimize_then_report(tmp_path: Path) -> None:
    args = ["optimize", "--steps", "amp,channels", *SMALL, "--train-steps", "3", "--warmup", "1",
            "--out", str(tmp_path)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "results.json").read_text())
    assert [r["step"] for r in doc["results"]] == ["amp", "channels"]
    assert (tmp_path / "time.png").exists()
    assert (tmp_path / "report.html").exists()
    again = runner.invoke(
        app, ["report", str(tmp_path / "results.json"), "--out", str(tmp_path / "r")]
    )
    assert again.exit_code == 0, again.output
    assert (tmp_path / "r" / "report.md").read_text() == (tmp_path / "report.md").read_text()


def test_find_batch_prints_the_largest_fit() -> None:
    result = runner.invoke(app, ["find-batch", "--budget-mb", "8", *SMALL])
    assert result.exit_code == 0, result.output
    assert "largest batch within 8 MiB:" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["optimize", "--steps", "turbo"], "unknown step turbo"),
        (["optimize", "--steps", ""], "no step given"),
        (["optimize", "--batch", "0"], "batch=0"),
        (["optimize", "--train-steps", "0"], "steps=0"),
        (["optimize", "--device", "tpu"], "device='tpu'"),
        (["profile", "--precision", "fp8"], "precision='fp8'"),
        (["profile", "--precision", "fp16"], "fp16 needs CUDA"),
        (["profile", "--workers", "-1"], "num_workers=-1"),
        (["profile", "--width", "12"], "multiple of 8"),
        (["find-batch", "--budget-mb", "0.0001"], "not even a batch of 1"),
        (["find-batch", "--budget-mb", "nan"], "must be a finite number"),
        (["find-batch", "--budget-mb", "-5"], "must be positive"),
        (["find-batch", "--budget-mb", "1e12"], "more than this machine's"),
        (["report", "/nonexistent/results.json"], "no such results file"),
    ],
)
def test_bad_input_is_one_line(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["gpuperf", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()
