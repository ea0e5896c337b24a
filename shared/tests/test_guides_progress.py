"""Guide checkpoints (parsing, running, stopping at a failure), the progress file, package
environments."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiinfra_shared import envs, guides, progress, workspace
from aiinfra_shared.cli import app
from aiinfra_shared.services import free_port

REPO = Path(__file__).resolve().parents[2]

GUIDE = textwrap.dedent(
    """\
    # x step by step

    ## 1. First

    <!-- checkpoint -->
    ```bash
    echo one
    ```

    ## 2. Second

    <!-- checkpoint slow timeout=5 expect="two" -->
    ```bash
    echo two && echo 2
    ```

    ## 3. Third, with no checkpoint
    """
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "STEP_BY_STEP.md"
    path.write_text(textwrap.dedent(text))
    return path


def test_parse_reads_steps_checkpoints_and_options(tmp_path: Path) -> None:
    guide = guides.parse(write(tmp_path, GUIDE))
    assert [(s.number, s.title) for s in guide.steps] == [
        (1, "First"),
        (2, "Second"),
        (3, "Third, with no checkpoint"),
    ]
    first, second = guide.checkpoints
    assert (first.step, first.command, first.slow, first.line) == (1, "echo one", False, 7)
    assert (second.step, second.slow, second.timeout, second.expect) == (2, True, 5.0, "two")
    assert [s.number for s in guide.steps_without_checkpoint()] == [3]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- checkpoint -->\nplain text\n", "must precede a ```bash block"),
        ("<!-- checkpoint fast -->\n```bash\nls\n```\n", "unknown checkpoint option 'fast'"),
        ("<!-- checkpoint -->\n```bash\nls\n", "not closed"),
        ("<!-- checkpoint background -->\n```bash\nls\n```\n", "needs ready=URL"),
        ("<!-- checkpoint timeout=soon -->\n```bash\nls\n```\n", "timeout must be a number"),
    ],
)
def test_malformed_checkpoints_are_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(guides.GuideError, match=message):
        guides.parse(write(tmp_path, text))


def test_run_stops_at_the_first_failure_and_checks_expected_output(tmp_path: Path) -> None:
    guide = guides.parse(
        write(
            tmp_path,
            """\
            ## 1. a
            <!-- checkpoint expect="hello" -->
            ```bash
            echo hello world
            ```
            ## 2. b
            <!-- checkpoint expect="absent" -->
            ```bash
            echo something else
            ```
            ## 3. c
            <!-- checkpoint -->
            ```bash
            echo never
            ```
            """,
        )
    )
    outcomes = guides.run_checkpoints(tmp_path, guide)
    assert [o.status for o in outcomes] == ["passed", "failed", "skipped"]
    assert "does not contain 'absent'" in outcomes[1].reason


def test_run_fails_on_exit_code_and_timeout_and_skips_slow_when_quick(tmp_path: Path) -> None:
    guide = guides.parse(
        write(
            tmp_path,
            """\
            <!-- checkpoint slow -->
            ```bash
            exit 0
            ```
            <!-- checkpoint -->
            ```bash
            false | cat
            ```
            """,
        )
    )
    quick = guides.run_checkpoints(tmp_path, guide, quick=True)
    assert [(o.status, o.reason) for o in quick] == [("skipped", "slow"), ("failed", "exit 1")]
    hang = guides.parse(write(tmp_path, "<!-- checkpoint timeout=1 -->\n```bash\nsleep 30\n```\n"))
    [outcome] = guides.run_checkpoints(tmp_path, hang)
    assert (outcome.status, outcome.reason) == ("failed", "did not finish within 1 s")
    assert outcome.seconds < 20


def test_a_background_server_serves_the_next_checkpoints_and_is_stopped(tmp_path: Path) -> None:
    port = free_port()
    server = f"{sys.executable} -m http.server {port} --bind 127.0.0.1"
    guide = guides.parse(
        write(
            tmp_path,
            f"""\
            <!-- checkpoint background ready=http://127.0.0.1:{port}/ timeout=30 -->
            ```bash
            {server}
            ```
            <!-- checkpoint expect="Directory listing" -->
            ```bash
            curl -s http://127.0.0.1:{port}/
            ```
            """,
        )
    )
    outcomes = guides.run_checkpoints(tmp_path, guide)
    assert [o.status for o in outcomes] == ["passed", "passed"]
    from aiinfra_shared.services.base import tcp_open

    assert not tcp_open("127.0.0.1", port)  # stopped when the run ended


def test_progress_records_and_suggests_the_next_exercise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIINFRA_PROGRESS", str(tmp_path / "p.json"))
    rows = progress.rows(REPO)
    assert [r.member.id for r in rows] == sorted(
        (r.member.id for r in rows), key=progress.curriculum_key
    )
    assert progress.next_exercise(rows).member.id == rows[0].member.id  # type: ignore[union-attr]
    progress.record(REPO, rows[0].member.id, "tests", True, "30 s")
    progress.record(REPO, rows[3].member.id, "demo", True)
    rows = progress.rows(REPO)
    assert rows[0].done
    assert progress.next_exercise(rows).member.id == rows[3].member.id  # type: ignore[union-attr]
    text = progress.markdown(rows)
    assert f"| {rows[0].member.id} |" in text
    assert "passed 20" in text
    assert f"1 of {len(rows)} exercises pass their tests." in text
    with pytest.raises(ValueError, match="kind must be"):
        progress.record(REPO, "101-07", "lint", True)


def test_a_corrupt_progress_file_is_no_reason_to_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.json"
    path.write_text("{not json")
    monkeypatch.setenv("AIINFRA_PROGRESS", str(path))
    assert progress.load(REPO) == {}
    result = CliRunner().invoke(app, ["progress", "--markdown"], env={"AIINFRA_ROOT": str(REPO)})
    assert result.exit_code == 0
    assert "exercises pass their tests" in result.output


def test_exec_runs_in_the_package_folder_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A package environment is synced once, reused while nothing changed, and commands run
    in the package folder with the environment first on PATH."""
    monkeypatch.setenv("AIINFRA_VENVS", str(tmp_path / "venvs"))
    member = workspace.lookup("shared", REPO)
    venv = envs.sync(REPO, member)
    stamp = json.loads((venv / envs.STAMP).read_text())
    assert stamp["extras"] == []
    before = (venv / envs.STAMP).stat().st_mtime_ns
    assert envs.sync(REPO, member) == venv
    assert (venv / envs.STAMP).stat().st_mtime_ns == before  # nothing changed: no sync
    code = envs.run_in(
        REPO, member, ["--", "python", "-c", "import os,sys; print(os.getcwd(), sys.prefix)"]
    )
    assert code == 0
    out = capfd.readouterr().out.split()
    assert Path(out[0]) == member.path
    assert Path(out[1]) == venv
    with pytest.raises(envs.EnvError, match="no command 'nosuchtool' in shared's environment"):
        envs.run_in(REPO, member, ["nosuchtool"])
    with pytest.raises(envs.EnvError, match="no command given"):
        envs.run_in(REPO, member, ["--"])
