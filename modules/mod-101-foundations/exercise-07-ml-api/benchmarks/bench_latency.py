"""Latency of a bare model call vs. the HTTP round trip, at concurrency 1 and 16.

    uv run aiinfra run 101-07          # once, to create .venvs/mlapi
    cd modules/mod-101-foundations/exercise-07-ml-api
    ../../../.venvs/mlapi/bin/python benchmarks/bench_latency.py

Prints a markdown table (milliseconds) and writes it as JSON next to the model
(``--json PATH`` to choose). The server is a real uvicorn subprocess on a free loopback port;
client and server share this machine's cores, which is part of what is measured.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from mlapi import model as model_lib
from mlapi.config import MlapiSettings
from mlapi.data import FEATURES, load_dataset, split
from mlapi.loadgen import http_latencies, percentiles
from mlapi.server import server_process
from mlapi.training import train_and_save


def bare_model(predictor: model_lib.Predictor, rows: np.ndarray, n: int) -> list[float]:
    """Seconds per ``predict_proba`` call on one row (what the endpoint calls)."""
    samples = []
    for i in range(n):
        row = rows[i % len(rows)][None, :]
        start = time.perf_counter()
        predictor.predict_proba(row)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per row of the table")
    parser.add_argument("--json", type=Path, default=None, help="where to write the results")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)  # as the server does
    with tempfile.TemporaryDirectory() as tmp:
        settings = MlapiSettings(model_dir=Path(tmp) / "model")
        train_and_save(settings)
        predictor = model_lib.Predictor(model_lib.load(settings.model_dir))
        _, test = split(load_dataset())
        bare_model(predictor, test.x, 200)  # warm-up
        results = {"bare model call": percentiles(bare_model(predictor, test.x, args.requests))}

        payloads = [dict(zip(FEATURES, map(float, row), strict=True)) for row in test.x]

        with server_process(settings.model_dir) as server:
            for concurrency in (1, 16):
                samples = http_latencies(
                    f"{server.url}/v1/predict", payloads, n=args.requests, concurrency=concurrency
                )
                results[f"HTTP round trip, concurrency {concurrency}"] = percentiles(samples)

    print(
        f"\n{args.requests} calls per row; {platform.processor() or platform.machine()}, "
        f"{platform.python_version()}, torch {torch.__version__}\n"
    )
    print("| path | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for name, pct in results.items():
        print(f"| {name} | {pct['p50']:.3f} | {pct['p95']:.3f} | {pct['p99']:.3f} |")
    out = args.json or Path("artifacts") / "mlapi-bench-latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"requests": args.requests, "results": results}, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
