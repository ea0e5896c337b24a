"""A tiny load generator: latency samples of HTTP round trips at a given concurrency.

Used by ``mlapi demo`` and ``benchmarks/bench_latency.py``. It only ever targets the
loopback server the caller started, and stops after ``n`` requests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
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


async def _run(
    url: str,
    payloads: Sequence[dict[str, Any]],
    n: int,
    concurrency: int,
    on_done: Callable[[], None] | None,
) -> list[float]:
    samples: list[float] = []
    counter = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        # Warm-up, not measured: opens every connection and starts the server's threads.
        await asyncio.gather(*(client.post(url, json=payloads[0]) for _ in range(2 * concurrency)))

        async def worker() -> None:
            for i in counter:
                payload = payloads[i % len(payloads)]
                start = time.perf_counter()
                response = await client.post(url, json=payload)
                samples.append(time.perf_counter() - start)
                response.raise_for_status()
                if on_done:
                    on_done()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples


def http_latencies(
    url: str,
    payloads: Sequence[dict[str, Any]],
    *,
    n: int = 200,
    concurrency: int = 1,
    on_done: Callable[[], None] | None = None,
) -> list[float]:
    """POST ``n`` payloads (cycled) to ``url`` from ``concurrency`` workers; seconds each.

    Raises:
        httpx.HTTPStatusError: When any request fails (latencies of failures are not data).
    """
    if n < 1 or concurrency < 1:
        raise ValueError("n and concurrency must be >= 1")
    return asyncio.run(_run(url, payloads, n, concurrency, on_done))
