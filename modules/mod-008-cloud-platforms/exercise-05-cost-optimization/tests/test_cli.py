from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from costopt.cli import app
from typer.testing import CliRunner


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "costopt", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("rightsize", "schedule", "budgets", "spot", "demo"):
        assert command in result.output


def test_a_bad_option_is_one_line_and_exit_2() -> None:
    done = _run("demo", "--no-such-option")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rightsize", "/no/such.csv"), "cannot read it"),
        (("schedule", "plan", "/no/such.toml"), "cannot read it"),
        (("budgets", "check", "/no/b.toml", "/no/u.csv"), "cannot read it"),
        (("spot", "--steps", "0"), "--steps must be between 1 and 1,000,000"),
        (("spot", "--steps", "99999999999999999999"), "--steps must be between"),
        (("spot", "--steps", "5", "--notice", "-5"), "the notice must be 0-3600 s"),
        (("spot", "--steps", "5", "--bid", "0"), "the bid must be a positive price"),
        (("spot", "--steps", "5", "--max-interruptions", "-1"), "max interruptions must be"),
        (("spot", "--instance-type", "x1.tiny", "--steps", "5"), "no on-demand price"),
        (("schedule", "plan", "POLICY", "--at", "teatime"), "--at must be an ISO date-time"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text("[[policy]]\nname='x'\nkind='weekends'\nselect={a='b'}\n")
    done = _run(
        *(str(policy) if a == "POLICY" else a for a in args),
        env={"COSTOPT_STATE_FILE": str(tmp_path / "s.json")},
    )
    assert done.returncode == 1, done.stdout
    assert done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_rightsize_cli_reads_a_utilization_file(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from costopt.usage import utilization

    path = tmp_path / "u.csv"
    utilization(
        ["i-a", "i-b", "i-c", "i-d", "i-e", "i-f", "i-g"], datetime(2026, 11, 21, tzinfo=UTC)
    ).to_csv(path, index=False)
    done = _run("rightsize", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert '"target": "m5.2xlarge"' in done.stdout


def test_costopt_spot_stops_cleanly_on_sigterm_and_resumes(tmp_path: Path) -> None:
    import json
    import signal
    import time

    work = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "costopt",
        "spot",
        "--workdir",
        str(work),
        "--steps",
        "40",
        "--step-delay",
        "0.02",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (work / "progress.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped by a signal" in out
    assert "checkpoint is kept" in out
    trainer = json.loads((work / "progress.json").read_text())["pid"]
    try:
        os.kill(trainer, 0)
        orphan = True
    except ProcessLookupError:
        orphan = False
    assert not orphan  # the trainer did not outlive its supervisor
    assert (work / "checkpoint.pt").exists()
    done = _run("spot", "--workdir", str(work), "--steps", "40", "--step-delay", "0")
    assert done.returncode == 0, done.stderr
    assert "done after 0 interruption(s)" in done.stdout  # 40 steps: before the price spike
    assert (work / "final.pt").exists()
