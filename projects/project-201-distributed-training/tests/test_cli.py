from __future__ import annotations

from pathlib import Path

import pytest
from trainplat.cli import app, main
from typer.testing import CliRunner

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("validate", "submit", "tune", "status", "bench", "demo"):
        assert command in result.output


def test_validate_prints_the_spec_with_defaults(spec_file: Path) -> None:
    spec_file.write_text("name: quick\nepochs: 2\n")
    result = runner.invoke(app, ["validate", str(spec_file)])
    assert result.exit_code == 0, result.output
    assert '"max_failures": 2' in result.output


def test_status_of_an_empty_storage(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--storage", str(tmp_path)])
    assert result.exit_code == 0
    assert "no jobs recorded" in result.output


@pytest.mark.parametrize(
    ("content", "command", "message"),
    [
        ("name: a\nscaling: {num_workers: -1}", "submit", "scaling.num_workers"),
        ("name: a\n", "tune", "has no 'tune' section"),
        (None, "validate", "cannot read"),
    ],
)
def test_bad_specs_are_one_line_errors_before_ray_starts(
    spec_file: Path,
    content: str | None,
    command: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if content is not None:
        spec_file.write_text(content)
    monkeypatch.setattr("sys.argv", ["trainplat", command, str(spec_file)])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_an_earlier_run_of_the_same_name_is_not_overwritten(
    tmp_path: Path,
    spec_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec_file.write_text("name: taken\n")
    earlier = tmp_path / "storage" / "taken"
    earlier.mkdir(parents=True)
    (earlier / "checkpoint_000001").mkdir()
    argv = ["trainplat", "submit", str(spec_file), "--storage", str(tmp_path / "storage")]
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit):
        main()
    assert "--replace" in capsys.readouterr().err
    assert (earlier / "checkpoint_000001").is_dir()


@pytest.mark.parametrize("workers", ["0,2", "one,two"])
def test_bench_refuses_bad_worker_counts_before_ray_starts(
    workers: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["trainplat", "bench", "--workers", workers])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    assert "--workers" in capsys.readouterr().err
