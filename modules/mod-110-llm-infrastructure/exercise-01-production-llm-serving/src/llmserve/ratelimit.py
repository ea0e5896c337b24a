"""Per-key rate limiting: a token bucket per API key (or client address).

Each key holds up to ``burst`` tokens and regains ``rpm / 60`` per second; a request takes one.
An empty bucket means 429 with ``Retry-After`` set to when the next token arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from math import ceil
from threading import Lock


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets by key. ``rpm == 0`` disables limiting."""

    def __init__(self, rpm: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rpm = rpm
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = Lock()

    def acquire(self, key: str) -> tuple[bool, int, int]:
        """Take a token for ``key``.

        Returns:
            (allowed, remaining tokens, seconds until the next token when refused).
        """
        if self.rpm <= 0:
            return True, self.burst, 0
        rate = self.rpm / 60.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(float(self.burst), now))
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return True, int(bucket.tokens), 0
            return False, 0, max(1, ceil((1.0 - bucket.tokens) / rate))
