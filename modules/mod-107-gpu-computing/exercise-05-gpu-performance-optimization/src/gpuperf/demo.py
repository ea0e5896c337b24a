"""What ``aiinfra run 107-05`` shows: a slow loop profiled, classified, then made faster.

1. ``torch.profiler`` on the baseline (decoding JPEGs in the training process): the verdict,
   with the shares of data, kernels and overhead;
2. each switch measured against the baseline with its correctness check (``torch.compile`` is
   left to ``gpuperf optimize --steps compile``: a cold compile takes about half a minute here);
3. the combination of every switch that helped, and the report files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from gpuperf import report
from gpuperf.config import RunConfig, Settings
from gpuperf.optimize import find_batch, optimize
from gpuperf.profiling import profile_loop

DEMO_STEPS = ("amp", "accum", "ckpt", "loader", "channels")


def run_demo(out: Path | None = None, *, console: Console | None = None) -> dict[str, Any]:
    """Run the demo and print its findings; returns the optimization result document."""
    console = console or Console()
    folder = out or Settings().out_dir / "demo"
    base = RunConfig()
    console.rule("1. profile the baseline")
    with console.status("profiling"):
        prof = profile_loop(base, folder)
    v = prof.verdict
    shares = ", ".join(f"{k} {s:.0%}" for k, s in v.shares.items())
    console.print(f"verdict: {v.bound} ({shares}); step {v.step_ms:.1f} ms", markup=False)
    console.print(f"why: {v.evidence}", markup=False)
    console.print(f"Chrome trace: {prof.trace}", markup=False)
    console.rule("2. one switch at a time")
    with console.status("measuring") as status:
        doc = optimize(
            base, DEMO_STEPS, steps=10, warmup=3, progress=lambda s: status.update(f"measuring {s}")
        )
    console.print(report.markdown(doc), markup=False, highlight=False, soft_wrap=True)
    console.rule("3. the largest batch in 128 MiB")
    best, _ = find_batch(base, 128.0)
    console.print(f"largest batch whose step needs <= 128 MiB: {best}")
    paths = report.write_all(doc, folder)
    console.print(f"report: {paths['html']}", markup=False)
    return doc
