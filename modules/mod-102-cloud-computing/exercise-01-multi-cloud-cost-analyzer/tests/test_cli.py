from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from costlens.cli import app
from typer.testing import CliRunner

runner = CliRunner()


def _run(*args: str, db: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"COSTLENS_DB": str(db)} if db else {})}
    return subprocess.run(
        [sys.executable, "-m", "costlens", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env,
    )


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "ingest",
        "spend",
        "anomalies",
        "forecast",
        "recommend",
        "report",
        "schedule",
        "demo",
    ):
        assert command in result.output


def test_a_bad_option_is_one_line_and_exit_2() -> None:
    done = _run("demo", "--no-such-option")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_query_and_spend_against_the_store(loaded_db: Path) -> None:
    done = _run(
        "query",
        "SELECT ProviderName, count(*) AS n FROM focus GROUP BY ALL ORDER BY 1",
        "--json",
        db=loaded_db,
    )
    assert done.returncode == 0, done.stderr
    assert [r["ProviderName"] for r in json.loads(done.stdout)] == [
        "AWS",
        "Google Cloud",
        "Microsoft",
    ]
    spend = _run("spend", "--by", "team", "--json", db=loaded_db)
    assert "(untagged)" in {r["team"] for r in json.loads(spend.stdout)}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ingest", "/no/such/file.csv"), "no such file or folder"),
        (("query", "   "), "the query is empty"),
        (("query", "SELEC nonsense"), "query failed"),
        (("query", "DELETE FROM focus"), "query failed"),  # the store is opened read-only
        (("spend", "--by", "colour"), "unknown dimension"),
        (("forecast", "--as-of", "tomorrow"), "--as-of must be a date"),
        (("schedule", "--cron", "every day", "--webhook", "http://x"), "--cron needs 5 fields"),
        (("schedule", "--cron", "61 * * * *", "--webhook", "http://x"), "--cron '61 * * * *'"),
        (("digest",), "nowhere to send"),
        (("generate", "/tmp/x", "--days", "3"), "--days must be 7"),
        (("generate", "/tmp/x", "--days", "100000000"), "--days must be 7"),
        (("spend", "--top", "-3"), "--top must be at least 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    loaded_db: Path, args: tuple[str, ...], message: str
) -> None:
    done = _run(*args, db=loaded_db)
    assert done.returncode == 1, done.stdout
    assert done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_commands_on_a_missing_store_say_to_ingest_first(tmp_path: Path) -> None:
    done = _run("anomalies", db=tmp_path / "none.duckdb")
    assert done.returncode == 1
    assert "run `costlens ingest` first" in done.stderr


def test_ingest_reports_rejections_and_generate_round_trip(tmp_path: Path) -> None:
    assert (
        _run("generate", str(tmp_path / "x"), "--days", "20", "--providers-none").returncode == 2
    )  # unknown option
    gen = _run("generate", str(tmp_path / "x"), "--days", "20", "--aws-format", "csv")
    assert gen.returncode == 0, gen.stderr
    db = tmp_path / "c.duckdb"
    first = _run(
        "ingest",
        str(tmp_path / "x"),
        "--utilization",
        str(tmp_path / "x" / "utilization.csv"),
        "--json",
        db=db,
    )
    assert first.returncode == 0, first.stderr
    again = _run("ingest", str(tmp_path / "x" / "azure-actual-cost.csv"), "--json", db=db)
    [row] = json.loads(again.stdout)
    assert row["rows_loaded"] == 0
    assert row["rows_duplicate"] == row["rows_read"]
    report = _run("report", "--out", str(tmp_path / "d.html"), db=db)
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "d.html").stat().st_size > 1_000_000  # plotly.js inlined
