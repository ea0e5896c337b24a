"""Summary statistics of timing samples: median and IQR, p50/p99, throughput.

Percentiles use linear interpolation between the closest ranks (NumPy's default, "type 7"),
so ``summarize([1, 2, 3, 4])`` has a median of 2.5 and an IQR of 1.5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypedDict

import numpy as np


class Summary(TypedDict):
    """What one list of timings (seconds) is reduced to."""

    n: int
    mean: float
    median: float
    q1: float
    q3: float
    iqr: float
    p50: float
    p99: float
    min: float
    max: float


def summarize(samples: Sequence[float]) -> Summary:
    """Median, quartiles, IQR, p50/p99, mean, min and max of ``samples``.

    Raises:
        ValueError: ``samples`` is empty or holds a non-finite value (a timing that was not
            measured must never become a number).
    """
    if len(samples) == 0:
        raise ValueError("no samples to summarize")
    arr = np.asarray(samples, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("samples hold NaN or infinity")
    q1, med, q3, p99 = np.percentile(arr, [25, 50, 75, 99])
    return Summary(
        n=int(arr.size),
        mean=float(arr.mean()),
        median=float(med),
        q1=float(q1),
        q3=float(q3),
        iqr=float(q3 - q1),
        p50=float(med),
        p99=float(p99),
        min=float(arr.min()),
        max=float(arr.max()),
    )


def per_second(items: float, seconds: float) -> float:
    """``items / seconds``; ``nan`` when no time was measured (never infinity)."""
    if seconds <= 0 or not math.isfinite(seconds):
        return math.nan
    return items / seconds
