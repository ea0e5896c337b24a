"""A circuit breaker per backend: stop sending traffic to a backend that keeps failing.

- **closed**: requests flow; ``failure_threshold`` failures in a row open it.
- **open**: requests are refused at once (the router picks another variant, or answers 503)
  for ``reset_timeout`` seconds, so a dead backend costs no timeouts and gets room to recover.
- **half-open**: after that, ``half_open_max`` trial requests go through; a success closes
  the breaker, a failure opens it again for another ``reset_timeout``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Lock

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
#: Numeric state for the ``servplat_breaker_state`` gauge.
STATE_VALUE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


@dataclass
class CircuitBreaker:
    """One backend's breaker (thread-safe; ``clock`` is injectable for tests)."""

    name: str
    failure_threshold: int = 5
    reset_timeout: float = 10.0
    half_open_max: int = 1
    clock: Callable[[], float] = time.monotonic
    on_change: Callable[[str, str], None] | None = None
    _state: str = CLOSED
    _failures: int = 0
    _opened_at: float = 0.0
    _trials: int = 0
    _lock: Lock = field(default_factory=Lock)

    @property
    def state(self) -> str:
        """``closed``, ``half_open`` or ``open`` (an open breaker past its timeout is half-open)."""
        with self._lock:
            self._expire()
            return self._state

    def allow(self) -> bool:
        """Whether a request may go to the backend now (takes a trial slot when half-open)."""
        with self._lock:
            self._expire()
            if self._state == CLOSED:
                return True
            if self._state == HALF_OPEN and self._trials < self.half_open_max:
                self._trials += 1
                return True
            return False

    def success(self) -> None:
        """A request succeeded: reset the count, close a half-open breaker."""
        with self._lock:
            self._failures = 0
            if self._state != CLOSED:
                self._set(CLOSED)

    def failure(self) -> None:
        """A request failed: count it; open at the threshold, or at once when half-open."""
        with self._lock:
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self.failure_threshold:
                self._opened_at = self.clock()
                self._set(OPEN)

    def _expire(self) -> None:
        if self._state == OPEN and self.clock() - self._opened_at >= self.reset_timeout:
            self._set(HALF_OPEN)

    def _set(self, state: str) -> None:
        before, self._state = self._state, state
        self._trials = 0
        if state == CLOSED:
            self._failures = 0
        if self.on_change and before != state:
            self.on_change(self.name, state)
