from __future__ import annotations

from typer.testing import CliRunner

from trainplat.cli import app


def test_help_lists_the_demo() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.output
