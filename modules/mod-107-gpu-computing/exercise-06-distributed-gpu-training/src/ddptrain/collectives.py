"""All-reduce check and bandwidth: the collective DDP is built on, on its own.

Each rank fills a tensor with ``rank + 1`` and all-reduces (sums) it: every element must then
equal ``1 + 2 + ... + world_size`` on every rank. Timing several sizes gives the bus bandwidth
(``2 * (n - 1) / n * bytes / seconds``, the figure NCCL's own tests report): on gloo over
loopback it is memory copies; on NVLink it is hundreds of GB/s.

Run under torchrun: ``python -m torch.distributed.run --nproc-per-node 2 -m
ddptrain.collectives --out <folder>`` (``ddptrain allreduce`` does it for you).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from ddptrain.dist import process_group

REPORT = "allreduce.json"


def check(sizes_mb: list[float], device_pref: str = "auto", iters: int = 5) -> dict[str, Any]:
    """Run the check in this rank (inside torchrun); rank 0's report is returned everywhere."""
    with process_group(device_pref, force_group=True) as env:  # type: ignore[arg-type]
        world = env.world_size
        expected = world * (world + 1) / 2
        rows = []
        correct = True
        for size in sizes_mb:
            numel = max(1, int(size * 1e6 / 4))
            tensor = torch.full((numel,), float(env.rank + 1), device=env.device)
            dist.all_reduce(tensor)
            correct &= bool(torch.all(tensor == expected))
            env.barrier()
            if env.device.type == "cuda":
                torch.cuda.synchronize(env.device)
            tick = time.perf_counter()
            for _ in range(iters):
                dist.all_reduce(tensor)
            if env.device.type == "cuda":
                torch.cuda.synchronize(env.device)
            seconds = (time.perf_counter() - tick) / iters
            nbytes = numel * 4
            busbw = 2 * (world - 1) / world * nbytes / seconds / 1e9 if world > 1 else 0.0
            rows.append({"mb": nbytes / 1e6, "ms": seconds * 1e3, "busbw_gbps": busbw})
        flags = torch.tensor([1.0 if correct else 0.0], device=env.device)
        dist.all_reduce(flags, op=dist.ReduceOp.MIN)
        return {
            "backend": env.backend,
            "world_size": world,
            "device": env.device.type,
            "correct_on_every_rank": bool(flags.item() == 1.0),
            "sizes": rows,
        }


def main(argv: list[str] | None = None) -> None:
    """Entry point of one torchrun rank; rank 0 writes ``allreduce.json``."""
    parser = argparse.ArgumentParser(prog="python -m ddptrain.collectives")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sizes-mb", default="1,16")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    report = check([float(s) for s in args.sizes_mb.split(",")], args.device)
    if int(os.environ.get("RANK", "0")) == 0:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / REPORT).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
