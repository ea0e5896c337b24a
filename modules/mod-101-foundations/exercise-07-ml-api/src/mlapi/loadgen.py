"""A tiny load generator: latency samples of HTTP round trips at a given concurrency.

:func:`raw_load`, :class:`LoadResult` and :func:`percentiles` live in
:mod:`aiinfra_shared.loadgen` (202's benchmark uses them too) and are re-exported here.

Two clients. :func:`http_load` uses httpx (what the demo shows, and what most Python callers
use). :func:`raw_load` speaks HTTP/1.1 keep-alive over asyncio streams and does almost nothing
else: at concurrency 16 on a small machine, httpx's own work per request (about a millisecond
of CPU) makes the client the bottleneck and its event loop the tail (measured: p99 8x p50 for a
route that does nothing), so the benchmark uses the raw client to measure the server.

Used by ``mlapi demo`` and ``benchmarks/bench_latency.py``. It only ever targets the
loopback server the caller started, and stops after ``n`` requests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from aiinfra_shared.loadgen import LoadResult, percentiles, raw_load


async def _run(
    url: str,
    payloads: Sequence[dict[str, Any]] | None,
    n: int,
    concurrency: int,
    on_done: Callable[[], None] | None,
) -> LoadResult:
    samples: list[float] = []
    counter = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def call(client: httpx.AsyncClient, i: int) -> httpx.Response:
        if payloads is None:
            return await client.get(url)
        return await client.post(url, json=payloads[i % len(payloads)])

    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        # Warm-up, not measured: opens every connection and starts the server's threads.
        await asyncio.gather(*(call(client, i) for i in range(2 * concurrency)))

        async def worker() -> None:
            for i in counter:
                start = time.perf_counter()
                response = await call(client, i)
                samples.append(time.perf_counter() - start)
                response.raise_for_status()
                if on_done:
                    on_done()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return LoadResult(samples, wall)


def http_load(
    url: str,
    payloads: Sequence[dict[str, Any]] | None,
    *,
    n: int = 200,
    concurrency: int = 1,
    on_done: Callable[[], None] | None = None,
) -> LoadResult:
    """``n`` requests to ``url`` from ``concurrency`` workers: POSTs of ``payloads`` (cycled),
    or GETs when ``payloads`` is None.

    Raises:
        httpx.HTTPStatusError: When any request fails (latencies of failures are not data).
    """
    if n < 1 or concurrency < 1:
        raise ValueError("n and concurrency must be >= 1")
    return asyncio.run(_run(url, payloads, n, concurrency, on_done))


def http_latencies(
    url: str,
    payloads: Sequence[dict[str, Any]],
    *,
    n: int = 200,
    concurrency: int = 1,
    on_done: Callable[[], None] | None = None,
) -> list[float]:
    """POST ``n`` payloads (cycled) to ``url`` from ``concurrency`` workers; seconds each."""
    return http_load(url, payloads, n=n, concurrency=concurrency, on_done=on_done).samples


__all__ = ["LoadResult", "http_latencies", "http_load", "percentiles", "raw_load"]
