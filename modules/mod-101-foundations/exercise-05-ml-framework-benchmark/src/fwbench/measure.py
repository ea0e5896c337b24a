"""Process facts read from ``/proc``: peak and current resident memory, CPU model, pinning."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mb() -> float | None:
    """This process's peak resident set size (``VmHWM``) in MiB; ``None`` off Linux."""
    kib = _status_kib("VmHWM")
    return kib / 1024 if kib is not None else None


def rss_mb() -> float | None:
    """This process's resident set size now (``VmRSS``) in MiB; ``None`` off Linux."""
    kib = _status_kib("VmRSS")
    return kib / 1024 if kib is not None else None


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (or what ``platform`` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def affinity() -> list[int]:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def pin(cpus: list[int]) -> list[int]:
    """Restrict this process (and the threads it starts later) to ``cpus``; the CPUs it got."""
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)
    return affinity()
