"""The CLI: up/down keep state across restarts and stop everything; bad input is one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from obsstack.pushing import push_batch_job

from aiinfra_shared.services.prometheus import wait_for


def obsstack(
    *args: str, data_dir: Path | None = None, timeout: float = 180, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    if data_dir is not None:
        env["OBSSTACK_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "obsstack", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


def one_line_error(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr
    return done.stderr.strip()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.integration
def test_up_down_up_keeps_the_history_and_down_stops_every_process(tmp_path: Path) -> None:
    data = tmp_path / "stack"
    first = obsstack("up", "--data-dir", str(data))
    assert first.returncode == 0, first.stdout + first.stderr
    state = json.loads((data / "state.json").read_text())
    urls = state["urls"]
    try:
        assert "already runs" in one_line_error(obsstack("up", "--data-dir", str(data)))
        status = obsstack("status", "--data-dir", str(data))
        assert status.returncode == 0, status.stdout
        assert status.stdout.count(" ok ") == 7, status.stdout
        push_batch_job(urls["pushgateway"], "kept-job", rows=42, seconds=1.0)
        wait_for(
            urls["prometheus"], 'obsstack_batch_rows_processed{job="kept-job"}', bool, timeout=20
        )
        children = subprocess.run(
            ["pgrep", "-g", str(state["pid"])], capture_output=True, text=True, check=False
        ).stdout.split()
    finally:
        down = obsstack("down", "--data-dir", str(data))
    assert down.returncode == 0, down.stdout + down.stderr
    assert "stopped" in down.stdout
    assert not (data / "state.json").exists()
    assert not _alive(int(state["pid"]))
    # the services run in their own sessions: look for any process still holding the data dir
    leftovers = subprocess.run(
        ["pgrep", "-f", str(data)], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout.strip() == "", f"still running: {leftovers.stdout} (was {children})"
    assert "no stack is running" in obsstack("down", "--data-dir", str(data)).stdout

    again = obsstack("up", "--data-dir", str(data))
    assert again.returncode == 0, again.stdout + again.stderr
    try:
        prom = json.loads((data / "state.json").read_text())["urls"]["prometheus"]
        # the sample scraped before the restart is still in the TSDB (range query over 10 m)
        samples = wait_for(
            prom,
            'max_over_time(obsstack_batch_rows_processed{job="kept-job"}[10m])',
            bool,
            timeout=30,
        )
        assert samples[0].value == 42
    finally:
        obsstack("down", "--data-dir", str(data))


def test_commands_without_a_running_stack_say_so(tmp_path: Path) -> None:
    for args in (["status"], ["logs", '{service="x"}'], ["alerts"], ["faults"], ["trace", "ab"]):
        message = one_line_error(obsstack(*args, data_dir=tmp_path))
        assert "no stack is running" in message, args


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["logs", "service=api"], 1, "expected {"),
        (["logs", '{service=~"("}'], 1, "invalid regular expression"),
        (["logs", ""], 1, "empty log query"),
        (["rules", "--scale", "7"], 1, "whole number of seconds"),
        (["rules", "--scale", "0"], 1, "--scale must be between"),
        (["faults", "--error-rate", "2"], 2, "error-rate"),
        (["traffic", "--seconds", "-1"], 1, ""),
        (["dashboard", "--png", "x.png", "--minutes", "nan"], 1, "--minutes must be"),
        (["up", "--scale", "1000"], 1, "scale"),
        (["up", "--scale", "7"], 1, "whole number of seconds"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(
    tmp_path: Path, args: list[str], code: int, fragment: str
) -> None:
    done = obsstack(*args, data_dir=tmp_path, cwd=tmp_path)
    message = one_line_error(done, code)
    assert fragment in message
    assert list(tmp_path.iterdir()) == [], "a refused command wrote a file"


def test_check_runs_promtool_and_amtool() -> None:
    done = obsstack("check")
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("promtool test rules", "promtool check config", "amtool check-config"):
        assert name in done.stdout


def test_rules_and_dashboard_are_written(tmp_path: Path) -> None:
    rules = obsstack("rules", "--out", str(tmp_path / "r.yml"), "--scale", "60")
    assert rules.returncode == 0
    assert "ratio_rate5s" in (tmp_path / "r.yml").read_text()
    dash = obsstack("dashboard", "--out", str(tmp_path / "d.json"))
    assert dash.returncode == 0
    assert json.loads((tmp_path / "d.json").read_text())["uid"] == "obsstack-overview"


def test_up_times_out_cleanly_when_told_to(tmp_path: Path) -> None:
    started = time.monotonic()
    message = one_line_error(obsstack("up", "--timeout", "1", data_dir=tmp_path / "s"), 2)
    assert "timeout" in message.lower()
    assert time.monotonic() - started < 60
