from __future__ import annotations

import json
from pathlib import Path

import pytest
from ddptrain.cli import app, main
from typer.testing import CliRunner

runner = CliRunner()


def test_help_lists_the_drivers() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("train", "ray", "bench", "allreduce", "show", "demo"):
        assert command in result.output


def test_train_in_one_process_then_show(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [
        "train",
        "--out",
        str(out),
        "--epochs",
        "1",
        "--samples",
        "256",
        "--global-batch",
        "32",
        "--device",
        "cpu",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "result.json").read_text())
    assert summary["launcher"] == "single"
    assert summary["steps"] == 8
    shown = runner.invoke(app, ["show", str(out)])
    assert shown.exit_code == 0
    assert f"{summary['final']['val_acc']:.3f}" in shown.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--global-batch", "30", "--nproc", "1", "--accum", "4"], "multiple of 4"),
        (["train", "--precision", "fp8"], "precision"),
        (["train", "--kill-at-step", "3"], "needs --nproc 2"),
        (["bench", "--workers", "one,two"], "comma-separated integers"),
        (["show", "/nonexistent/run"], "holds no finished run"),
        (["train", "--nproc", "0"], "--nproc must be 1 to 64, got 0"),
        (["train", "--nproc", "2", "--kill-at-step", "2", "--kill-rank", "5"],
         "--kill-rank 5 is not a rank of 2"),
        (["train", "--nproc", "4", "--global-batch", "62"], "does not split over 4 worker(s)"),
        (["allreduce", "--nproc", "0"], "--nproc must be 1 to 64, got 0"),
        (["allreduce", "--sizes-mb", "0"], "--sizes-mb must be sizes in (0, 4096] MB"),
        (["ray", "--workers", "0"], "--nproc must be 1 to 64, got 0"),
    ],
)  # fmt: skip
def test_bad_options_are_one_line_errors(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        "sys.argv", ["ddptrain", *args, *(["--samples", "64"] if args[0] == "train" else [])]
    )
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
