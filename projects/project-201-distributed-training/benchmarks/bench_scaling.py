"""Ray Train scaling: the built-in tiny job on 1 vs N workers, on a local Ray.

    uv run aiinfra exec 201 -- python benchmarks/bench_scaling.py [--workers 1,2] [--gpu]

Prints a markdown table and writes ``scaling-<cpu|gpu>.json`` and ``.png`` next to this file.
Throughput is the median epoch after the first, measured inside the loop; ``fit s`` includes
starting the worker group.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from trainplat.bench import markdown, run, save
from trainplat.cluster import connect, disconnect
from trainplat.spec import builtin

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--gpu", action="store_true", help="use_gpu: one GPU per worker")
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    spec = builtin("tiny")
    spec = spec.model_copy(
        update={
            "epochs": args.epochs,
            "data": spec.data.model_copy(update={"samples": 16384}),
            "scaling": spec.scaling.model_copy(update={"use_gpu": args.gpu}),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        connect(temp_dir=Path(tmp) / "ray")
        try:
            rows = run(spec, [int(w) for w in args.workers.split(",")], Path(tmp) / "storage")
        finally:
            disconnect()
    print(markdown(rows))
    print(f"wrote {save(rows, HERE, 'gpu' if args.gpu else 'cpu')}")


if __name__ == "__main__":
    main()
