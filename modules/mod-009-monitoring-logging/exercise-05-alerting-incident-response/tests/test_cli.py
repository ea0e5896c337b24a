"""The CLI: what works, and bad input as one line with a non-zero exit."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]
EXAMPLES = PACKAGE / "examples"


def incidents(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "incidents", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
        check=False,
        cwd=cwd,
    )


def test_oncall_shows_who_and_when() -> None:
    done = incidents(
        "oncall", str(EXAMPLES / "oncall.yml"), "--at", "2026-12-25T12:00:00+00:00", "--days", "3"
    )
    assert done.returncode == 0, done.stderr
    assert "ml-primary (Europe/Berlin): now dave" in done.stdout
    assert "dave (override)" in done.stdout


def test_runbook_dry_run_by_default() -> None:
    done = incidents(
        "runbook",
        str(EXAMPLES / "runbooks" / "model-quality-drop.yml"),
        "--label",
        "model=fraud",
        "--var",
        "model_server=http://127.0.0.1:9",
    )
    assert done.returncode == 0, done.stderr
    assert "model-quality-drop: dry_run" in done.stdout
    assert "POST http://127.0.0.1:9/admin/rollback" in done.stdout


def test_check_rules_and_storm() -> None:
    assert incidents("check-rules").returncode == 0
    storm = incidents(
        "replay-storm", "--services", "3", "--alerts-per-service", "5", "--repeats", "4"
    )
    assert storm.returncode == 0, storm.stderr
    # 3 services x 5 alerts x 4 sends: 15 kept, 45 folded, one incident per service
    assert re.search(r"distinct alerts kept\s+│ 15 ", storm.stdout), storm.stdout
    assert re.search(r"duplicates folded \(dedup\)\s+│ 45 \(", storm.stdout), storm.stdout
    assert re.search(r"incidents opened\s+│ 3 ", storm.stdout), storm.stdout


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["oncall", "missing.yml"], 1, "no such file"),
        (["oncall", str(EXAMPLES / "dependencies.yml")], 1, "api-gateway: Extra inputs"),
        (["oncall", str(EXAMPLES / "oncall.yml"), "--at", "tuesday"], 1, "not an ISO 8601"),
        (["oncall", str(EXAMPLES / "oncall.yml"), "--at", "2026-12-25T12:00:00"], 1, "time zone"),
        (["oncall", str(EXAMPLES / "oncall.yml"), "--days", "0"], 2, "days"),
        (["runbook", "missing.yml"], 1, "no such file"),
        (
            ["runbook", str(EXAMPLES / "runbooks" / "model-quality-drop.yml"), "--label", "nope"],
            1,
            "expected name=value",
        ),
        (["runbook", str(EXAMPLES / "runbooks" / "model-quality-drop.yml")], 1, "failed"),
        (["report", "--db", "missing.db"], 1, "no incident database"),
        (["postmortem", "1", "--db", "missing.db"], 1, "no incident database"),
        (["postmortem", "0"], 2, "incident"),
        (["replay-storm", "--url", "http://127.0.0.1:9", "--services", "1"], 1, "not reachable"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, args: list[str], code: int, fragment: str) -> None:
    done = incidents(*args, cwd=tmp_path)
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert fragment in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_serve_refuses_a_bad_oncall_file_before_listening(tmp_path: Path) -> None:
    bad = tmp_path / "oncall.yml"
    bad.write_text("users: {a: {}}\nschedules: {s: {start: 2026-11-02, participants: [zed]}}\n")
    done = incidents("serve", "--oncall", str(bad), "--db", str(tmp_path / "i.db"))
    assert done.returncode == 1
    assert "'zed'" in done.stderr
