from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pulumiml.cli import app
from typer.testing import CliRunner


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("synth", "check", "preview", "up", "destroy", "demo", "stacks"):
        assert command in result.output


def test_synth_json_has_the_graph_and_the_outputs() -> None:
    result = CliRunner().invoke(app, ["synth", "--stack", "prod", "--cloud", "gcp", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["cloud"] == "gcp"
    assert doc["outputs"]["artifact_store"] == "gs://my-ml-project-mlplat-prod-artifacts"
    types = {r["type"] for r in doc["resources"]}
    assert {"gcp:container/cluster:Cluster", "gcp:sql/databaseInstance:DatabaseInstance"} <= types


def test_check_passes_on_a_shipped_stack() -> None:
    result = CliRunner().invoke(app, ["check", "--stack", "dev", "--cloud", "azure"])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
    assert result.output.count("pass") == 7


def _pulumiml(*args: str, path: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PATH": path, "COLUMNS": "200"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "pulumiml"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )


def test_preview_without_the_pulumi_cli_is_a_clear_message(tmp_path: Path) -> None:
    # A PATH with python's folder only: no `pulumi` on it (none is installable here anyway).
    done = _pulumiml(
        "preview", "--stack", "prod", path=str(Path(sys.executable).parent), cwd=tmp_path
    )
    assert done.returncode == 1
    assert "Pulumi CLI is not installed" in done.stderr
    assert "pulumiml synth" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / ".pulumi-state").exists()


def test_unknown_stack_and_cloud_are_one_line_errors(tmp_path: Path) -> None:
    path = str(Path(sys.executable).parent)
    done = _pulumiml("check", "--stack", "staging", path=path, cwd=tmp_path)
    assert done.returncode == 1
    assert "no stack 'staging'" in done.stderr
    assert "stacks: dev, prod" in done.stderr
    done = _pulumiml("synth", "--cloud", "oracle", path=path, cwd=tmp_path)
    assert done.returncode == 1
    assert "unknown cloud 'oracle'" in done.stderr
    assert "Traceback" not in done.stderr
