"""``servplat bench``: what the gateway costs, and what micro-batching buys.

One scorer (v1) behind two routes, ``plain`` (every request is its own backend call) and
``batched`` (up to 16 predictions per call, 5 ms wait). Single predictions are sent:

- at concurrency 1, directly to the scorer and through each route: the gateway's own cost is
  the difference in latency (an extra hop, routing, metrics, spans);
- at ``concurrency``, through each route: throughput with and without batching.

Prints a table and writes ``bench.json``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from servplat.config import Settings
from servplat.routing import PlatformConfig

APPLICANT = [55.0, 0.7, 40.0, 3.0, 2.0]


@dataclass(frozen=True)
class Run:
    """One measured path."""

    path: str
    concurrency: int
    requests: int
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    errors: int


def bench_config() -> PlatformConfig:
    """v1 behind a plain and a batched route."""
    return PlatformConfig.model_validate(
        {
            "backends": {
                "scorer-v1": {"kind": "classic", "launch": {"version": "v1"}, "timeout": 10}
            },
            "routes": [
                {"model": "plain", "variants": {"scorer-v1": 1}, "sticky": False},
                {
                    "model": "batched",
                    "variants": {"scorer-v1": 1},
                    "sticky": False,
                    "batching": {"max_batch": 16, "max_wait_ms": 5},
                },
            ],
        }
    )


async def measure(
    url: str, body: dict[str, object], *, requests: int, concurrency: int, label: str
) -> Run:
    """``requests`` POSTs of ``body`` to ``url``, ``concurrency`` in flight."""
    latencies: list[float] = []
    errors = 0
    todo = list(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while todo:
            todo.pop()
            started = time.perf_counter()
            response = await client.post(url, json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status_code != 200

    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(10):  # warm-up: connections, the batcher
            await client.post(url, json=body)
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    latencies.sort()
    return Run(
        label,
        concurrency,
        requests,
        round(requests / seconds, 1),
        round(statistics.median(latencies), 2),
        round(latencies[int(0.95 * (len(latencies) - 1))], 2),
        errors,
    )


def run_bench(
    console: Console, settings: Settings, *, requests: int, concurrency: int, out: Path
) -> list[Run]:
    """All runs; table and ``bench.json``."""
    from servplat.platform import run_platform

    runs: list[Run] = []
    with console.status("starting a scorer and the gateway"), run_platform(bench_config()) as p:
        direct = f"{p.backends['scorer-v1'].url}/v1/predict"
        gateway = f"{p.gateway.url}/v1/predict"
        plans: list[tuple[str, str, dict[str, object], int]] = [
            ("direct to the scorer", direct, {"instances": [APPLICANT]}, 1),
            ("gateway, plain route", gateway, {"model": "plain", "features": APPLICANT}, 1),
            ("gateway, batched route", gateway, {"model": "batched", "features": APPLICANT}, 1),
            ("direct to the scorer", direct, {"instances": [APPLICANT]}, concurrency),
            (
                "gateway, plain route",
                gateway,
                {"model": "plain", "features": APPLICANT},
                concurrency,
            ),
            (
                "gateway, batched route",
                gateway,
                {"model": "batched", "features": APPLICANT},
                concurrency,
            ),
        ]
        for label, url, body, level in plans:
            runs.append(
                asyncio.run(measure(url, body, requests=requests, concurrency=level, label=label))
            )
    table = Table(title=f"single predictions, {requests} per run")
    for column in ("path", "concurrency", "req/s", "p50 ms", "p95 ms", "errors"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for run in runs:
        table.add_row(
            run.path,
            str(run.concurrency),
            f"{run.requests_per_second:.0f}",
            f"{run.p50_ms:.2f}",
            f"{run.p95_ms:.2f}",
            str(run.errors),
        )
    console.print(table)
    overhead = runs[1].p50_ms - runs[0].p50_ms
    console.print(f"gateway overhead at concurrency 1: {overhead:.2f} ms at p50 (plain route)")
    console.print(
        f"batching at concurrency {concurrency}: {runs[5].requests_per_second:.0f} "
        f"against {runs[4].requests_per_second:.0f} req/s "
        f"({runs[5].requests_per_second / runs[4].requests_per_second:.1f}x)"
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps([asdict(r) for r in runs], indent=2) + "\n")
    console.print(f"report: {out / 'bench.json'}")
    return runs
