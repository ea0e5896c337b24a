"""Service overhead: /predict latency and throughput over HTTP, and the cost of a scrape.

    uv run aiinfra exec 108-02 -- python \
        modules/mod-108-monitoring-observability/exercise-02-ml-model-monitoring/benchmarks/bench_service.py

Runs the real app under uvicorn on loopback (its own process, as in production), drives it
with httpx from this process, and times
``/metrics`` with the custom collector's window full at several sizes. Prints markdown tables
and writes bench_service.json beside this file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from aiinfra_shared.services import http_process

TXN = {"amount": 80.0, "account_age_days": 400.0, "txn_last_hour": 1, "hour": 14}


@contextmanager
def _serve(window: int) -> Iterator[str]:
    argv = [
        sys.executable, "-m", "uvicorn", "--factory", "modelmon.service:app_from_env",
        "--host", "127.0.0.1", "--log-level", "error", "--port",
    ]  # fmt: skip
    env = {**os.environ, "MODELMON_WINDOW": str(window), "MODELMON_MODEL_VERSION": "bench"}
    with http_process("modelmon", lambda p: [*argv, str(p)], health_path="/healthz", env=env) as s:
        yield s.url


async def _load(url: str, n: int, concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=url) as client:
        todo = iter(range(n))

        async def worker() -> None:
            for _ in todo:
                start = time.perf_counter()
                (await client.post("/predict", json=TXN)).raise_for_status()
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - start


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results: dict[str, list[dict[str, float]]] = {"predict": [], "scrape": []}

    print("| concurrency | requests/s | p50 | p95 |\n|---:|---:|---:|---:|")
    with _serve(window=500) as url:
        asyncio.run(_load(url, 200, 4))  # warm-up
        for concurrency in (1, 8, 32):
            lat, wall = asyncio.run(_load(url, args.requests, concurrency))
            q = statistics.quantiles(lat, n=20)
            row = {
                "concurrency": concurrency,
                "rps": len(lat) / wall,
                "p50_ms": q[9] * 1e3,
                "p95_ms": q[18] * 1e3,
            }
            results["predict"].append(row)
            print(
                f"| {concurrency} | {row['rps']:.0f} | {row['p50_ms']:.1f} ms "
                f"| {row['p95_ms']:.1f} ms |"
            )

    print("\n| collector window | /metrics median | body |\n|---:|---:|---:|")
    for window in (500, 5000):
        with _serve(window=window) as url:
            asyncio.run(_load(url, window, 8))  # fill the window
            times = []
            with httpx.Client(base_url=url) as client:
                for _ in range(20):
                    start = time.perf_counter()
                    body = client.get("/metrics").text
                    times.append(time.perf_counter() - start)
        row = {"window": window, "scrape_ms": statistics.median(times) * 1e3, "bytes": len(body)}
        results["scrape"].append(row)
        print(f"| {window} | {row['scrape_ms']:.1f} ms | {len(body) / 1024:.0f} KiB |")
    Path(__file__).with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
