from __future__ import annotations

import json
from pathlib import Path

import pytest
from ddptrain.cli import app
from typer.testing import CliRunner

pytestmark = pytest.mark.integration


def test_bench_writes_a_scaling_table_json_and_png(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "--workers",
            "1,2",
            "--epochs",
            "1",
            "--samples",
            "512",
            "--global-batch",
            "64",
            "--width",
            "8",
            "--device",
            "cpu",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "scaling.json").read_text())
    one, two = payload["rows"]
    assert (one["workers"], two["workers"]) == (1, 2)
    assert one["speedup"] == 1.0
    assert two["efficiency"] == pytest.approx(two["speedup"] / 2)
    assert one["samples_per_s"] > 0
    assert two["samples_per_s"] > 0
    # the same job: both runs reach the same accuracy whatever the worker count
    assert one["val_acc"] == pytest.approx(two["val_acc"], abs=1e-6)
    assert (out / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 2 |" in (out / "scaling.md").read_text()
