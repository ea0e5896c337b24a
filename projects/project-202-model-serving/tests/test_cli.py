"""The servplat command: help, one-line errors, the demo and the benchmark end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from servplat.cli import app
from typer.testing import CliRunner

runner = CliRunner()


def servplat(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "servplat", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"COLUMNS": "150"},
    )


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("gateway", "backend", "up", "demo", "bench"):
        assert command in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "backends: {a: {kind: classic}}\nroutes: [{model: m, variants: {a: 1}}]\n",
            "give a url (a running server) or launch",
        ),
        (
            "backends: {a: {kind: classic, url: 'http://x'}}\n"
            "routes: [{model: m, variants: {b: 1}}]\n",
            "unknown backends: ['b']",
        ),
        ("routes: [\n", "cannot read"),
    ],
)
def test_a_bad_config_is_a_one_line_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text(content)
    result = servplat("gateway", "--config", str(path))
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_scorer_version_is_refused() -> None:
    result = servplat("backend", "classic", "--version", "v9")
    assert result.returncode == 1
    assert "unknown version 'v9'" in result.stderr


@pytest.mark.slow
def test_the_demo_end_to_end(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVPLAT_CACHE_DIR", str(cache_dir))
    result = runner.invoke(app, ["demo", "--requests", "300"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "scorer: sticky 90/10 split" in out
    assert re.search(r"sticky: (\d+)/\1 users got the same variant", out)
    assert "shadow: every v1 request was copied to v2" in out
    assert "New requests join the batch between decode steps." in out  # the streamed chat
    assert "scorer-v2 breaker: open" in out
    assert "scorer-v2 breaker: closed" in out
    assert "servplat-llm-tiny: POST /v1/chat/completions (SERVER)" in out  # the trace tree


def test_bench_measures_overhead_and_batching(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["bench", "--requests", "40", "--concurrency", "4", "--out", str(tmp_path)],
        env={"COLUMNS": "150"},
    )
    assert result.exit_code == 0, result.output
    from servplat.bench import SWEEP, route_name

    runs = json.loads((tmp_path / "bench.json").read_text())
    assert [(r["path"], r["concurrency"]) for r in runs] == [
        ("direct to the scorer", 1),
        ("gateway, plain route", 1),
        (f"gateway, {route_name(*SWEEP[0])}", 1),
        (f"gateway, {route_name(*SWEEP[1])}", 1),
        ("direct to the scorer", 4),
        ("gateway, plain route", 4),
        *[(f"gateway, {route_name(*setting)}", 4) for setting in SWEEP],
    ]
    assert all(r["requests_per_second"] > 0 for r in runs)
    batched = [r for r in runs if "batched" in r["path"]]
    # The gateway's own histogram: every batched run formed backend calls of some size,
    # and no batch was larger than the concurrency allows.
    assert all(r["batch_sizes"] and 1 <= r["mean_batch"] <= 4 for r in batched)
    assert "gateway overhead at concurrency 1" in result.output
    assert "the plain route" in result.output
