"""The llmserve command: help, errors, build-model, bench and the demo end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llmserve.cli import app
from typer.testing import CliRunner

from aiinfra_shared.tinylm import read_record

runner = CliRunner()


def llmserve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real entry point in a subprocess (for exit codes and stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "llmserve", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"COLUMNS": "150"} | (env or {}),
    )


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("build-model", "serve", "bench", "demo"):
        assert command in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--model", "/nonexistent/model"], "not 'tiny', 'smollm2' or a model folder"),
        (["bench", "--streams", "one,two"], "--streams takes numbers"),
        (["serve", "--max-batch-size", "0"], "invalid settings"),
        (["build-model", "--corpus", "/nonexistent.txt"], "cannot read corpus"),
    ],
)
def test_user_mistakes_are_one_line_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = llmserve(*args, env={"LLMSERVE_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_build_model_from_a_corpus_file(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("The queue drains at night.\nThe gateway retries twice.\n" * 200)
    result = runner.invoke(
        app,
        ["build-model", "--dest", str(tmp_path / "m"), "--corpus", str(corpus), "--steps", "20"],
    )
    assert result.exit_code == 0, result.output
    assert "built" in result.output
    record = read_record(tmp_path / "m")
    assert record is not None
    assert record.steps == 20
    assert (tmp_path / "m" / "config.json").is_file()


def test_bench_compares_batching_on_and_off(
    tiny: Path, model_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMSERVE_CACHE_DIR", str(model_cache))
    result = runner.invoke(
        app,
        [
            "bench",
            "--streams",
            "1,4",
            "--requests",
            "8",
            "--max-tokens",
            "16",
            "--out",
            str(tmp_path),
        ],
        env={"COLUMNS": "150"},
    )
    assert result.exit_code == 0, result.output
    runs = json.loads((tmp_path / "bench.json").read_text())
    assert [(r["mode"], r["streams"]) for r in runs] == [
        ("batching on", 1),
        ("batching on", 4),
        ("batching off", 1),
        ("batching off", 4),
    ]
    assert all(r["errors"] == 0 and r["completion_tokens"] == 8 * 16 for r in runs)
    assert [r["max_batch_size"] for r in runs] == [4, 4, 1, 1]
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"
    assert "batching on vs off at 4 streams" in result.output


def test_the_demo_end_to_end(
    tiny: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMSERVE_CACHE_DIR", str(model_cache))
    result = runner.invoke(app, ["demo"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "GET /v1/models -> ['tiny']" in out
    assert "New requests join the batch between decode steps." in out  # the streamed chat
    assert "refused with 429 (Retry-After" in out
    assert "decode steps by batch size" in out
    assert "llmserve_time_to_first_token_seconds_count" in out
