from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gpuperf import report
from gpuperf.config import RunConfig
from gpuperf.errors import ReportError


def _run(step_ms: list[float], wait_ms: float, act: float, **cfg: Any) -> dict[str, Any]:
    return {
        "config": RunConfig(**cfg).model_dump(),
        "device": "cpu",
        "step_s": [m / 1e3 for m in step_ms],
        "data_wait_s": [wait_ms / 1e3] * len(step_ms),
        "losses": [2.0] * len(step_ms),
        "first_step_s": 0.1,
        "activation_mb": act,
        "device_peak_mb": None,
    }


def saved() -> dict[str, Any]:
    return {
        "schema": "gpuperf/1",
        "device": "cpu",
        "threads": 2,
        "torch": "2.13.0",
        "steps": 4,
        "warmup": 1,
        "baseline": _run([80, 80, 80, 80], 40, 30.0),
        "results": [
            {"step": "amp", "change": "autocast bf16", "run": _run([40, 40, 40, 40], 20, 15.0,
             precision="bf16"), "check": {"name": "losses match", "passed": True,
             "detail": "max |x| 1e-3"}, "sweep": []},
            {"step": "loader", "change": "2 workers", "run": _run([60] * 4, 1, 30.0,
             num_workers=2), "check": {"name": "same batches", "passed": False,
             "detail": "batch 0 differs"}, "sweep": [{"num_workers": 2, "prefetch_factor": 2,
             "pin_memory": False, "step_ms": 60.0, "data_wait_ms": 1.0}]},
        ],
        "combined": _run([32] * 4, 1, 15.0, precision="bf16", num_workers=2, prefetch_factor=2),
    }  # fmt: skip


def test_rows_and_speedups_come_from_the_samples() -> None:
    rows = {r["config"]: r for r in report.rows(saved())}
    assert rows["baseline"]["median_ms"] == pytest.approx(80)
    assert rows["amp"]["speedup"] == pytest.approx(2.0)
    assert rows["amp"]["samples_per_s"] == pytest.approx(32 / 0.04)
    assert rows["baseline"]["data_share"] == pytest.approx(0.5)
    assert rows["combined"]["speedup"] == pytest.approx(2.5)


def test_markdown_shows_passes_failures_and_the_sweep() -> None:
    md = report.markdown(saved())
    assert (
        "| amp | autocast bf16 | 40.0 [0.0] | 2.00x | 800 | 50% | 15.0 | - | pass: max /x/ 1e-3 |"
        in md
    )
    assert "FAIL: batch 0 differs" in md
    assert "Fastest: **combined** (every faster switch that passed), 32.0 ms" in md
    assert "## DataLoader sweep (loader)" in md
    assert "| 2 | 2 | False | 60.0 | 1.0 |" in md


def test_report_files_rebuild_from_saved_json(tmp_path: Path) -> None:
    paths = report.write_all(saved(), tmp_path)
    doc = report.load(paths["json"])
    again = report.write_all(doc, tmp_path / "again")
    assert again["markdown"].read_text() == paths["markdown"].read_text()
    for name in ("time", "memory"):
        assert paths[name].read_bytes().startswith(b"\x89PNG")
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") == 2
    assert "<td>autocast bf16</td>" in page


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such results file"), ("{", "not a readable JSON"),
     ('{"schema": "x"}', "schema 'gpuperf/1' expected"),
     ('{"schema": "gpuperf/1"}', "has no"), ("[]", "schema 'gpuperf/1' expected")],
)  # fmt: skip
def test_bad_results_files(content: str | None, message: str, tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ReportError, match=message):
        report.load(path)


def test_saved_json_is_plain_json(tmp_path: Path) -> None:
    paths = report.write_all(saved(), tmp_path)
    assert json.loads(paths["json"].read_text())["schema"] == "gpuperf/1"
