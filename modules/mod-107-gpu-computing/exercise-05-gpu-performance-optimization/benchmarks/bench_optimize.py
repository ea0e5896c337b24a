"""The full study: profile the baseline, then every switch (torch.compile included) with more
timed steps than the demo; prints the Markdown table and writes JSON.

    uv run aiinfra exec 107-05 -- python benchmarks/bench_optimize.py [--device cuda] [--steps 30]

Writes ``benchmarks/gpuperf-optimize.json`` and the HTML/PNG report to
``runs/gpuperf/bench-report/``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch
from gpuperf import report
from gpuperf.config import RunConfig
from gpuperf.optimize import STEPS, optimize
from gpuperf.profiling import profile_loop

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    base = RunConfig(device=args.device, samples=1024)
    prof = profile_loop(base, None)
    v = prof.verdict
    print(f"baseline verdict: {v.bound} " + ", ".join(f"{k} {s:.0%}" for k, s in v.shares.items()))
    doc = optimize(
        base, STEPS, steps=args.steps, warmup=args.warmup, progress=lambda s: print("measuring", s)
    )
    doc["profile"] = {"bound": v.bound, "shares": v.shares, "step_ms": v.step_ms}
    paths = report.write_all(doc, Path("runs/gpuperf/bench-report"))
    shutil.copyfile(paths["json"], HERE / "gpuperf-optimize.json")
    print(report.markdown(doc))
    print(json.dumps(doc["profile"]))


if __name__ == "__main__":
    main()
