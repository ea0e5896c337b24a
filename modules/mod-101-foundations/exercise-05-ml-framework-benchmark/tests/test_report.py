"""The report is computed from the raw samples of a saved result, and shows only those."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from fwbench import bench, report


def saved_result() -> dict[str, Any]:
    """A result document with known samples, as `fwbench run` writes it."""
    ok = {
        "framework": "torch",
        "model": "cnn",
        "device": "cpu",
        "status": "ok",
        "params": 136874,
        "compile_s": None,
        "first_step_s": 0.05,
        "train": {"batch": 32, "step_s": [0.010, 0.020, 0.030, 0.040], "losses": [2.3, 2.0, 1.5]},
        "infer": {
            "8": {"first_call_s": 0.01, "latency_s": [0.002, 0.004]},
            "1": {"first_call_s": 0.01, "latency_s": [0.001] * 99 + [0.101]},
        },
        "memory": {"baseline_rss_mb": 300.0, "peak_rss_mb": 450.0, "device_peak_mb": None},
        "env": {},
    }
    compiled = ok | {
        "framework": "torch-compile",
        "first_step_s": 10.025,
        "train": {"batch": 32, "step_s": [0.025] * 5, "losses": [2.3, 1.0]},
    }
    return {
        "schema": bench.SCHEMA,
        "created": "2026-12-06T00:00:00+00:00",
        "profile": {"name": "quick", "train_batch": 32, "warmup_steps": 2, "train_steps": 4,
                    "infer_repeats": 2},
        "environment": {"cpu_model": "Test CPU", "threads": 2, "cpus": [0, 1], "device": "cpu",
                        "python": "3.11", "versions": {"torch": "2.13.0"}},
        "frameworks": [
            {"name": "torch", "available": True, "version": "2.13.0", "reason": None},
            {"name": "jax", "available": False, "version": None,
             "reason": "not installed: jax cannot be imported"},
        ],
        "results": [
            ok,
            compiled,
            {"framework": "jax", "model": "cnn", "device": "cpu", "status": "not-installed",
             "reason": "not installed: jax cannot be imported"},
            {"framework": "torch", "model": "lstm", "device": "cpu", "status": "error",
             "error": "RuntimeError: boom"},
        ],
    }  # fmt: skip


def test_training_rows_come_from_the_samples() -> None:
    rows = report.training_rows(saved_result())
    assert [(r["framework"], r["model"]) for r in rows] == [
        ("torch", "cnn"),
        ("torch-compile", "cnn"),
    ]
    eager, compiled = rows
    assert eager["step_median_s"] == pytest.approx(0.025)
    assert eager["step_iqr_s"] == pytest.approx(0.015)
    assert eager["samples_per_s"] == pytest.approx(32 / 0.025)
    assert eager["compile_s"] is None
    # torch.compile: the first step minus the median step
    assert compiled["compile_s"] == pytest.approx(10.0)


def test_inference_rows_are_sorted_by_batch_with_p99() -> None:
    rows = [r for r in report.inference_rows(saved_result()) if r["framework"] == "torch"]
    assert [r["batch"] for r in rows] == [1, 8]
    assert rows[0]["p50_s"] == pytest.approx(0.001)
    # p99 of 99 x 1 ms and one 101 ms: rank 98.01, so 1 ms + 0.01 x 100 ms
    assert rows[0]["p99_s"] == pytest.approx(0.002)
    assert rows[1]["samples_per_s"] == pytest.approx(8 / 0.003)


def test_markdown_names_what_was_not_measured() -> None:
    md = report.markdown(saved_result())
    assert (
        "| torch | cnn | 136,874 | 25.00 [15.00] | 1,280 | - | 2.300 -> 1.500 | 450 (300) |" in md
    )
    not_measured = md.split("## Not measured")[1]
    assert "**jax**: not installed" in not_measured
    assert "**torch / lstm**: failed: RuntimeError: boom" in not_measured
    assert "| jax |" not in md
    assert "| torch | lstm |" not in md


def test_report_files_from_a_saved_json(tmp_path: Path) -> None:
    path = bench.save(saved_result(), tmp_path / "results.json")
    paths = report.write_all(bench.load(path), tmp_path / "report")
    assert {"markdown", "html", "training", "latency", "memory"} == set(paths)
    for name in ("training", "latency", "memory"):
        assert paths[name].read_bytes().startswith(b"\x89PNG")
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") == 3
    encoded = base64.b64encode(paths["latency"].read_bytes()).decode()
    assert encoded in page
    assert "<td>136,874</td>" in page
    assert "<li><strong>jax</strong>: not installed" in page


def test_a_result_with_nothing_measured_still_renders(tmp_path: Path) -> None:
    doc = saved_result()
    doc["results"] = [r for r in doc["results"] if r["status"] != "ok"]
    paths = report.write_all(doc, tmp_path)
    assert set(paths) == {"markdown", "html"}
    assert "## Not measured" in paths["markdown"].read_text()
