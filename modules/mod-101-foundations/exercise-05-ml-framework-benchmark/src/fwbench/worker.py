"""Measure one (framework, model) pair in this process: ``python -m fwbench.worker SPEC OUT``.

:func:`fwbench.bench.run` starts one worker per pair, so the peak memory (``VmHWM``) and the
compile caches of one pair never leak into another's. Before the framework is imported the
worker pins itself to the requested CPUs and sets the thread counts (``OMP_NUM_THREADS``
was set by the parent); the baseline memory is read after the import, so the report can
separate what the framework costs from what the model and its training cost.

Order of work, the same for every framework:

1. build the model and the optimizer, convert the batches to the framework's arrays;
2. ahead-of-time compile where the framework has it (JAX), timed: ``compile_s``;
3. the first training step, timed on its own (``first_step_s``: holds ``torch.compile``'s
   compilation); then ``warmup_steps`` untimed steps; then ``train_steps`` timed steps;
4. per inference batch size: one first call (timed, holds compilation for that shape),
   ``warmup_infer`` untimed calls, ``infer_repeats`` timed calls.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from fwbench import measure


def _versions(framework: str) -> dict[str, Any]:
    info: dict[str, Any] = {}
    if framework.startswith("torch"):
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["torch_interop_threads"] = torch.get_num_interop_threads()
        info["mkldnn"] = bool(torch.backends.mkldnn.is_available())  # type: ignore[no-untyped-call]
        info["cuda"] = torch.version.cuda
    elif framework == "tensorflow":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
        info["tf_intra_op_threads"] = tf.config.threading.get_intra_op_parallelism_threads()
        info["tf_devices"] = [d.name for d in tf.config.list_logical_devices()]
        info["tf_onednn"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)")
    else:
        import jax

        info["jax"] = jax.__version__
        info["jax_backend"] = jax.default_backend()
        info["jax_devices"] = [str(d) for d in jax.devices()]
        info["xla_flags"] = os.environ.get("XLA_FLAGS", "")
    return info


def measure_pair(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the measurement ``spec`` describes (see :func:`fwbench.bench.worker_spec`)."""
    from fwbench import data
    from fwbench.config import Profile

    framework, model, device = spec["framework"], spec["model"], spec["device"]
    profile = Profile(**spec["profile"])
    cpus = measure.pin(spec.get("cpus") or [])
    threads = int(spec["threads"])
    if framework.startswith("torch"):
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
    if framework == "tensorflow":
        # the parent set TF_CPP_MIN_LOG_LEVEL and KERAS_BACKEND in this process's environment
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        if device == "cpu":
            tf.config.set_visible_devices([], "GPU")
    from fwbench.runners import make_runner

    env = _versions(framework) | {"cpus": cpus, "threads": threads}
    baseline = measure.rss_mb()

    dataset = data.for_model(model, profile.samples, seed=spec.get("seed", 0))
    runner = make_runner(framework, model, device=device, seed=spec.get("seed", 0))
    n_batches = max(1, profile.samples // profile.train_batch)
    batches = [
        (runner.to_input(x), runner.to_labels(y))
        for x, y in (dataset.batch(i, profile.train_batch) for i in range(n_batches))
    ]

    x0, y0 = batches[0]
    compile_s = runner.compile_train(x0, y0)
    start = time.perf_counter()
    losses = [runner.train_step(x0, y0)]
    first_step_s = time.perf_counter() - start
    for i in range(profile.warmup_steps):
        x, y = batches[(i + 1) % n_batches]
        losses.append(runner.train_step(x, y))
    step_s: list[float] = []
    for i in range(profile.train_steps):
        x, y = batches[(i + 1 + profile.warmup_steps) % n_batches]
        start = time.perf_counter()
        losses.append(runner.train_step(x, y))
        step_s.append(time.perf_counter() - start)

    infer: dict[str, Any] = {}
    for bs in profile.infer_batches:
        xs = runner.to_input(dataset.batch(0, bs)[0])
        start = time.perf_counter()
        runner.infer(xs)
        first_call_s = time.perf_counter() - start
        for _ in range(profile.warmup_infer):
            runner.infer(xs)
        latencies = []
        for _ in range(profile.infer_repeats):
            start = time.perf_counter()
            runner.infer(xs)
            latencies.append(time.perf_counter() - start)
        infer[str(bs)] = {"first_call_s": first_call_s, "latency_s": latencies}

    if any(not math.isfinite(v) for v in losses):
        raise RuntimeError(f"training diverged: loss {losses[-1]}")
    peak = measure.peak_rss_mb()
    device_peak = runner.device_peak_bytes()
    return {
        "framework": framework,
        "model": model,
        "device": device,
        "status": "ok",
        "params": runner.param_count(),
        "compile_s": compile_s,
        "first_step_s": first_step_s,
        "train": {"batch": profile.train_batch, "step_s": step_s, "losses": losses},
        "infer": infer,
        "memory": {
            "baseline_rss_mb": baseline,
            "peak_rss_mb": peak,
            "device_peak_mb": device_peak / 2**20 if device_peak is not None else None,
        },
        "env": env,
    }


def main(argv: list[str] | None = None) -> int:
    """Read the spec (a JSON file), write the result (a JSON file); exit 0 even on failure
    of the measurement, which is reported in the result as ``status: error``."""
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text())
    out = Path(args[1])
    try:
        result = measure_pair(spec)
    except Exception as exc:  # reported in the results, never turned into a number
        result = {
            "framework": spec.get("framework"),
            "model": spec.get("model"),
            "device": spec.get("device"),
            "status": "error",
            "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
            "traceback": traceback.format_exc()[-4000:],
        }
    out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
