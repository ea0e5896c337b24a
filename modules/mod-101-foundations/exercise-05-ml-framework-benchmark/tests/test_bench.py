"""A real run: every pair measured in its own pinned worker, raw samples kept, gaps named."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fwbench import bench, report
from fwbench.errors import ConfigError, ReportError


def test_every_pair_is_measured_with_raw_samples(measured: dict[str, Any], tiny: Any) -> None:
    assert measured["schema"] == bench.SCHEMA
    ok = {r["framework"]: r for r in measured["results"] if r["status"] == "ok"}
    assert set(ok) == {"torch", "jax"}
    for r in ok.values():
        assert len(r["train"]["step_s"]) == tiny.train_steps
        assert all(t > 0 for t in r["train"]["step_s"])
        assert set(r["infer"]) == {"1", "4"}
        assert all(len(v["latency_s"]) == tiny.infer_repeats for v in r["infer"].values())
        assert r["memory"]["peak_rss_mb"] >= r["memory"]["baseline_rss_mb"] > 0
        assert r["env"]["threads"] == 1
        assert len(r["env"]["cpus"]) == 1
        assert r["memory"]["device_peak_mb"] is None  # no GPU counter on CPU
    assert ok["jax"]["compile_s"] > 0  # the AOT compile, timed on its own
    assert ok["torch"]["compile_s"] is None  # eager compiles nothing
    assert ok["torch"]["params"] == ok["jax"]["params"]


def test_environment_is_recorded(measured: dict[str, Any]) -> None:
    env = measured["environment"]
    assert env["cpu_model"]
    assert env["threads"] == 1
    assert env["cpus"]
    assert {"torch", "jax", "equinox", "optax"} <= set(env["versions"])
    assert measured["profile"]["name"] == "tiny"


def test_tensorflow_is_measured_when_installed_and_reported_when_not(tiny: Any) -> None:
    cpus, threads = bench.parse_cpus(None, 1)
    doc = bench.run(["tensorflow"], ["lstm"], tiny, cpus=cpus, threads=threads)
    (row,) = doc["results"]
    if importlib.util.find_spec("tensorflow") is None:
        assert row["status"] == "not-installed"
        assert "aiinfra-fwbench[tensorflow]" in row["reason"]
        assert "train" not in row
        return
    assert row["status"] == "ok", row.get("error")
    assert len(row["train"]["step_s"]) == tiny.train_steps
    assert row["compile_s"] > 0  # the tf.function trace, timed on its own
    assert row["env"]["tf_intra_op_threads"] == 1
    assert row["params"] == 104_202  # one LSTM bias vector fewer than torch: 0.49 %


def test_a_missing_framework_is_reported_with_no_numbers(tmp_path: Path, tiny: Any) -> None:
    """JAX made unimportable in a fresh interpreter: the run says so and measures torch only."""
    out = tmp_path / "r.json"
    code = (
        "import sys; sys.modules['jax'] = None\n"
        "from pathlib import Path\n"
        "from fwbench import bench\n"
        "from fwbench.config import Profile\n"
        f"p = Profile(**{tiny.model_dump()!r})\n"
        "cpus = bench.parse_cpus(None, 1)[0]\n"
        "doc = bench.run(['torch', 'jax'], ['lstm'], p, cpus=cpus, threads=1)\n"
        f"bench.save(doc, Path({str(out)!r}))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    doc = bench.load(out)
    jax_row = next(r for r in doc["results"] if r["framework"] == "jax")
    assert jax_row["status"] == "not-installed"
    assert "no module named 'jax'" in jax_row["reason"]
    assert "aiinfra-fwbench[jax]" in jax_row["reason"]
    assert not {"train", "infer", "params", "memory"} & set(jax_row)
    md = report.markdown(doc)
    assert "| jax |" not in md  # no row of numbers for it
    assert "**jax**: not installed" in md
    assert [r["framework"] for r in report.training_rows(doc)] == ["torch"]


def test_a_failing_worker_is_an_error_not_a_number(tiny: Any) -> None:
    cpus, threads = bench.parse_cpus(None, 1)
    spec = bench.worker_spec("torch", "cnn", tiny, cpus, threads, "cuda")
    if __import__("torch").cuda.is_available():
        pytest.skip("this machine has CUDA: the run would succeed")
    result = bench.run_worker(spec, timeout_s=120)
    assert result["status"] == "error"
    assert "CUDA" in result["error"] or "cuda" in result["error"]
    assert "train" not in result


def test_a_worker_that_hangs_is_stopped(tiny: Any) -> None:
    cpus, threads = bench.parse_cpus(None, 1)
    spec = bench.worker_spec("torch", "cnn", tiny, cpus, threads, "cpu")
    result = bench.run_worker(spec, timeout_s=0.05)
    assert result == {
        "framework": "torch",
        "model": "cnn",
        "device": "cpu",
        "status": "error",
        "error": "stopped after 0 s",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "no framework given"), ("torch,mxnet", "unknown framework mxnet"), (",", "no framework")],
)
def test_parse_list_refuses_bad_names(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        bench.parse_list(text, ("torch", "jax"), "framework")


def test_parse_list_all_and_duplicates() -> None:
    assert bench.parse_list("all", ("torch", "jax"), "framework") == ["torch", "jax"]
    assert bench.parse_list("jax, jax,torch", ("torch", "jax"), "framework") == ["jax", "torch"]


@pytest.mark.parametrize(
    ("cpus", "threads", "message"),
    [("0-x", None, "expected a list"), ("4096", None, "not available"), ("0", 2, "between 1 and"),
     (None, 0, "must be 1 or more"), ("", None, "expected a list")],
)  # fmt: skip
def test_parse_cpus_refuses_bad_lists(cpus: str | None, threads: int | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        bench.parse_cpus(cpus, threads)


def test_parse_cpus_defaults_to_the_first_cpus() -> None:
    cpus, threads = bench.parse_cpus(None, 1)
    assert threads == 1
    assert len(cpus) == 1
    assert bench.parse_cpus("0", None) == ([0], 1)


def test_saved_results_load_back(measured: dict[str, Any], tmp_path: Path) -> None:
    path = bench.save(measured, tmp_path / "deep" / "results.json")
    assert bench.load(path) == json.loads(json.dumps(measured))


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such results file"), ("{oops", "not a readable JSON"),
     ('{"schema": "other"}', "schema 'fwbench/1' expected"), ('{"schema": "fwbench/1"}', "has no"),
     ("[1, 2]", "schema 'fwbench/1' expected")],
)  # fmt: skip
def test_bad_results_files_are_refused(content: str | None, message: str, tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ReportError, match=message):
        bench.load(path)
