"""Time, injectable: the service reads the clock only through here, so tests and the demo can
move it (escalation after 15 minutes without waiting 15 minutes)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that says what time it is (timezone-aware, UTC)."""

    def now(self) -> datetime:
        """The current time."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told (thread-safe)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        if self._now.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The clock's current time."""
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward (``advance(minutes=15)``); returns the new time."""
        step = timedelta(**delta)
        if step < timedelta(0):
            raise ValueError("a clock only moves forward")
        with self._lock:
            self._now += step
            return self._now
