"""The full sweep: every framework x every model, full profile; prints Markdown, writes JSON.

    uv run aiinfra exec 101-05 -- python benchmarks/bench_frameworks.py [--threads 2] [--cpus 0,1]

Writes ``benchmarks/fwbench-full.json`` (every raw sample) and the HTML/PNG report to
``runs/fwbench/bench-report/``. ``--frameworks``/``--models`` narrow the sweep.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fwbench import bench, report
from fwbench.config import FULL
from fwbench.models_torch import MODELS
from fwbench.runners import FRAMEWORKS

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", default="all")
    parser.add_argument("--models", default="all")
    parser.add_argument("--cpus", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    frameworks = bench.parse_list(args.frameworks, FRAMEWORKS, "framework")
    models = bench.parse_list(args.models, MODELS, "model")
    cpus, threads = bench.parse_cpus(args.cpus, args.threads)
    doc = bench.run(
        frameworks, models, FULL, cpus=cpus, threads=threads, device=args.device,
        progress=lambda label: print(f"measuring {label}", flush=True),
    )  # fmt: skip
    bench.save(doc, HERE / "fwbench-full.json")
    report.write_all(doc, Path("runs/fwbench/bench-report"))
    print(report.markdown(doc))


if __name__ == "__main__":
    main()
