"""Event-time window assignment: which windows an event at time ``t`` belongs to.

Windows are half-open ``[start, end)`` intervals in epoch milliseconds, aligned to the epoch
(so every processor, and a replay, assigns the same windows to the same event).
"""

from __future__ import annotations

from dataclasses import dataclass

TUMBLING = "tumbling"
SLIDING = "sliding"


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """Window sizes in milliseconds: tumbling ``size``; sliding ``slide_size`` every ``step``."""

    size_ms: int
    slide_size_ms: int
    step_ms: int

    def __post_init__(self) -> None:
        if min(self.size_ms, self.slide_size_ms, self.step_ms) <= 0:
            raise ValueError("window sizes must be positive")
        if self.slide_size_ms % self.step_ms:
            raise ValueError("the sliding step must divide the sliding window size")

    def windows(self, t: int) -> list[tuple[str, int, int]]:
        """All ``(kind, start, end)`` windows containing ``t``: one tumbling, several sliding.

        A sliding window of size S with step P contains ``t`` when ``start <= t < start + S``
        and ``start`` is a multiple of P: that is S / P windows.
        """
        start = t - t % self.size_ms
        out = [(TUMBLING, start, start + self.size_ms)]
        last = t - t % self.step_ms
        for k in range(self.slide_size_ms // self.step_ms):
            s = last - k * self.step_ms
            out.append((SLIDING, s, s + self.slide_size_ms))
        return out
