"""A load client that costs almost nothing per request, for benchmarks on small machines.

:func:`raw_load` speaks HTTP/1.1 keep-alive over asyncio streams and does little else. At
concurrency 16 on two cores, httpx's own work per request (about a millisecond of CPU) makes
the client the bottleneck and its event loop the tail (measured in 101-07: p99 8x p50 for a
route that does nothing), so benchmarks measure servers with this client. It only targets the
URL it is given and stops after ``n`` requests.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


def percentiles(
    samples: Sequence[float], points: Sequence[float] = (50, 95, 99)
) -> dict[str, float]:
    """Percentiles of ``samples`` in milliseconds, keyed ``p50``, ``p95``, ``p99``."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(s * 1000.0 for s in samples)

    def at(p: float) -> float:  # linear interpolation, as numpy.percentile's default
        rank = (len(ordered) - 1) * p / 100
        low = int(rank)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)

    return {f"p{int(p)}": at(p) for p in points}


@dataclass(frozen=True)
class LoadResult:
    """Seconds per request, and the wall time of the whole run (for throughput)."""

    samples: list[float]
    wall_s: float

    @property
    def per_second(self) -> float:
        """Requests completed per second."""
        return len(self.samples) / self.wall_s if self.wall_s else 0.0


async def _raw_run(
    url: str, bodies: Sequence[bytes] | None, n: int, concurrency: int
) -> LoadResult:
    parsed = urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    path = parsed.path or "/"
    if parsed.query:
        path += f"?{parsed.query}"
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
