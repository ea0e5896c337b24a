"""DDP strong scaling on this machine: 1 vs N torchrun workers, same job, same global batch.

    uv run aiinfra exec 107-06 -- python benchmarks/bench_scaling.py \
        [--workers 1,2] [--device cuda]

Prints a markdown table and writes ``scaling.json`` / ``scaling.png`` next to this file. Also an
all-reduce bandwidth table for the backend in use (gloo on CPU, NCCL on GPU). On a CPU host the
workers share the cores, so this measures how DDP splits one machine (see the README).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ddptrain.bench import markdown, plot, run_scaling, write_json
from ddptrain.config import TrainConfig
from ddptrain.launch import allreduce_check

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--samples", type=int, default=8192)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    cfg = TrainConfig(
        samples=args.samples, epochs=2, global_batch=128, width=args.width, device=args.device
    )
    with tempfile.TemporaryDirectory() as tmp:
        rows = run_scaling(cfg, workers, Path(tmp), repeats=args.repeats)
        report = allreduce_check(
            Path(tmp) / "allreduce", nproc=max(workers), device=args.device, sizes_mb="1,16,64"
        )
    kind = "cuda" if rows[0].threads_per_worker == 0 else "cpu"
    print(markdown(rows, kind))
    print()
    print(
        f"all-reduce ({report['backend']}, {report['world_size']} ranks, "
        f"correct={report['correct_on_every_rank']})"
    )
    print("| MB | ms | bus GB/s |\n|---:|---:|---:|")
    for r in report["sizes"]:
        print(f"| {r['mb']:.0f} | {r['ms']:.2f} | {r['busbw_gbps']:.2f} |")
    write_json(rows, cfg, HERE / f"scaling-{kind}.json")
    plot(rows, HERE / f"scaling-{kind}.png", f"DDP strong scaling ({kind})")


if __name__ == "__main__":
    main()
