"""A tiny load generator: latency samples of HTTP round trips at a given concurrency.

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
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np


def percentiles(
    samples: Sequence[float], points: Sequence[float] = (50, 95, 99)
) -> dict[str, float]:
    """Percentiles of ``samples`` in milliseconds, keyed ``p50``, ``p95``, ``p99``."""
    if not samples:
        raise ValueError("no samples")
    values = np.percentile(np.asarray(samples) * 1000.0, points)
    return {f"p{int(p)}": float(v) for p, v in zip(points, values, strict=True)}


@dataclass(frozen=True)
class LoadResult:
    """Seconds per request, and the wall time of the whole run (for throughput)."""

    samples: list[float]
    wall_s: float

    @property
    def per_second(self) -> float:
        """Requests completed per second."""
        return len(self.samples) / self.wall_s if self.wall_s else 0.0


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


async def _raw_run(
    url: str, bodies: Sequence[bytes] | None, n: int, concurrency: int
) -> LoadResult:
    parsed = httpx.URL(url)
    host, port, path = parsed.host, parsed.port or 80, parsed.raw_path.decode()
    if bodies is None:
        requests = [f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()]
    else:
        requests = [
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
            for body in bodies
        ]
    samples: list[float] = []

    async def connection(counter: Iterator[int], record: bool) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in counter:
                start = time.perf_counter()
                writer.write(requests[i % len(requests)])
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                if status != 200:
                    raise RuntimeError(f"{url} answered {status}")
                if record:
                    samples.append(time.perf_counter() - start)
        finally:
            writer.close()

    warm_up = iter(range(2 * concurrency))  # not measured
    await asyncio.gather(*(connection(warm_up, False) for _ in range(concurrency)))
    counter = iter(range(n))
    started = time.perf_counter()
    await asyncio.gather(*(connection(counter, True) for _ in range(concurrency)))
    return LoadResult(samples, time.perf_counter() - started)


def raw_load(
    url: str, payloads: Sequence[dict[str, Any]] | None, *, n: int = 1000, concurrency: int = 1
) -> LoadResult:
    """Like :func:`http_load`, with a client that costs almost nothing per request (HTTP/1.1
    keep-alive over asyncio streams; the server must send ``Content-Length``).

    Raises:
        RuntimeError: A response other than 200.
    """
    if n < 1 or concurrency < 1:
        raise ValueError("n and concurrency must be >= 1")
    bodies = None if payloads is None else [json.dumps(p).encode() for p in payloads]
    return asyncio.run(_raw_run(url, bodies, n, concurrency))
