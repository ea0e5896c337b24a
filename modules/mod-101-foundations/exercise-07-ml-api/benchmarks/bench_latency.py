"""What the predict route costs: against a bare model call, and against a route that does nothing.

    uv run aiinfra exec 101-07 -- python benchmarks/bench_latency.py [--requests 2000] [--repeat 5]

One real uvicorn server (subprocess, free loopback port) with the benchmark route switched on
(``MLAPI_BENCH_ROUTES``): ``POST /bench/noop`` parses and validates the same request body as
``POST /v1/predict`` and answers a constant, so their ratio is what the prediction itself costs
(the model call, the answer, the metrics). Each (route, client, concurrency) cell is run
``--repeat`` times, routes alternating, and the median run is reported: shared 2-core machines
are noisy, and a ratio measured inside one alternating run is what can be compared. For
predict, the rows per model call (requests batched together on the event loop, read from the
server's ``mlapi_model_batch_rows`` histogram) are shown as well.

Two clients: ``raw`` (HTTP/1.1 keep-alive over asyncio streams, almost no CPU per request:
it measures the server) and ``httpx`` (what most Python callers use; at concurrency 16 its own
work per request makes it the bottleneck and the source of the tail). Prints a markdown table
and writes JSON (``--json PATH``; default ``artifacts/mlapi-bench-latency.json``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from mlapi import model as model_lib
from mlapi.config import MlapiSettings
from mlapi.data import FEATURES, load_dataset, split
from mlapi.loadgen import LoadResult, http_load, percentiles, raw_load
from mlapi.server import server_process
from mlapi.training import train_and_save

ROUTES = {"no-op (same body)": "/bench/noop", "predict": "/v1/predict"}
CLIENTS = {"raw": raw_load, "httpx": http_load}


def bare_model(predictor: model_lib.Predictor, rows: np.ndarray, n: int) -> list[float]:
    """Seconds per ``predict_proba`` call on one row (what the endpoint calls)."""
    samples = []
    for i in range(n):
        row = rows[i % len(rows)][None, :]
        start = time.perf_counter()
        predictor.predict_proba(row)
        samples.append(time.perf_counter() - start)
    return samples


def model_calls(url: str) -> tuple[float, float]:
    """(model calls, rows) so far, from the server's ``mlapi_model_batch_rows`` histogram."""
    import httpx

    found = {"count": 0.0, "sum": 0.0}
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        for key in found:
            if line.startswith(f"mlapi_model_batch_rows_{key} "):
                found[key] = float(line.split()[1])
    return found["count"], found["sum"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per cell (median kept)")
    parser.add_argument("--json", type=Path, default=None, help="where to write the results")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)  # as the server does
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = MlapiSettings(model_dir=Path(tmp) / "model")
        train_and_save(settings)
        predictor = model_lib.Predictor(model_lib.load(settings.model_dir))
        _, test = split(load_dataset())
        bare_model(predictor, test.x, 200)  # warm-up
        bare = percentiles(bare_model(predictor, test.x, args.requests))
        payloads = [dict(zip(FEATURES, map(float, row), strict=True)) for row in test.x]

        with server_process(settings.model_dir, extra_env={"MLAPI_BENCH_ROUTES": "1"}) as server:
            for client_name, client in CLIENTS.items():
                for concurrency in (1, 16):
                    runs: dict[str, list[LoadResult]] = {name: [] for name in ROUTES}
                    calls = [0.0, 0.0]  # model calls, rows: the batches predict formed
                    for _ in range(args.repeat):
                        for name, path in ROUTES.items():  # alternating, run after run
                            before = model_calls(server.url)
                            runs[name].append(
                                client(
                                    f"{server.url}{path}",
                                    payloads,
                                    n=args.requests,
                                    concurrency=concurrency,
                                )
                            )
                            after = model_calls(server.url)
                            calls = [
                                c + a - b for c, a, b in zip(calls, after, before, strict=True)
                            ]
                    for name, results in runs.items():
                        median = sorted(results, key=lambda r: r.per_second)[len(results) // 2]
                        rows.append(
                            {
                                "client": client_name,
                                "concurrency": concurrency,
                                "route": name,
                                "per_second": median.per_second,
                                "spread": [round(r.per_second) for r in results],
                                "rows_per_call": calls[1] / calls[0] if calls[0] else None,
                                **percentiles(median.samples),
                            }
                        )

    print(
        f"\n{args.requests} requests per run, median of {args.repeat}; "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"torch {torch.__version__}\n"
    )
    print(f"bare model call: p50 {bare['p50']:.3f} ms, p99 {bare['p99']:.3f} ms\n")
    print("| client | concurrency | route | req/s | p50 ms | p99 ms | p99/p50 | rows/model call |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        per_call = r["rows_per_call"] if r["route"] == "predict" else None
        print(
            f"| {r['client']} | {r['concurrency']} | {r['route']} | {r['per_second']:,.0f} "
            f"| {r['p50']:.2f} | {r['p99']:.2f} | {r['p99'] / r['p50']:.1f} "  # type: ignore[operator]
            f"| {f'{per_call:.2f}' if per_call else '-'} |"
        )
    print()
    for client_name in CLIENTS:
        for concurrency in (1, 16):
            cell = {
                r["route"]: r["per_second"]
                for r in rows
                if r["client"] == client_name and r["concurrency"] == concurrency
            }
            ratio = cell["predict"] / cell["no-op (same body)"]  # type: ignore[operator]
            print(f"{client_name}, concurrency {concurrency}: predict = {ratio:.0%} of no-op")
    spreads = statistics.median(
        max(r["spread"]) / min(r["spread"])
        for r in rows  # type: ignore[type-var, arg-type]
    )
    print(f"(run-to-run spread, max/min req/s of a cell, median over cells: {spreads:.2f}x)")
    out = args.json or Path("artifacts") / "mlapi-bench-latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"bare_model": bare, "rows": rows}, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
