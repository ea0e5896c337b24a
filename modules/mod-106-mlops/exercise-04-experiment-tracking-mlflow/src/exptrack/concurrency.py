"""Many processes logging to one run at once: does the server keep every point?

Each worker process opens its own client and logs ``steps`` points of its own key
(``worker_<n>``) and of one key all workers share (``shared``, with steps that interleave).
The test and the benchmark read everything back and count.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LoadResult:
    """Points logged and how long the logging took (process start-up not included)."""

    processes: int
    points: int
    seconds: float

    @property
    def rate(self) -> float:
        """Points per second over all processes."""
        return self.points / self.seconds if self.seconds else 0.0


def _worker(uri: str, run_id: str, worker: int, steps: int, batch: int, ready: Any) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(tracking_uri=uri)
    ready.wait()  # every process has imported mlflow: now they all log at once
    pending: list[Metric] = []
    for step in range(steps):
        now = int(time.time() * 1000)
        pending.append(Metric(f"worker_{worker}", float(step), now, step))
        pending.append(Metric("shared", float(worker), now, worker * steps + step))
        if len(pending) >= 2 * batch:
            client.log_batch(run_id, metrics=pending)
            pending = []
    if pending:
        client.log_batch(run_id, metrics=pending)


def log_concurrently(
    uri: str, run_id: str, *, processes: int = 4, steps: int = 100, batch: int = 1
) -> LoadResult:
    """Log from ``processes`` processes at once; return how many points were sent and how fast.

    Args:
        uri: Tracking server.
        run_id: The run every process logs to.
        processes: Worker processes (spawned: each has its own client and connections).
        steps: Steps per worker; each step is two points.
        batch: Steps per request (1 = one request per step).

    Raises:
        RuntimeError: A worker exited non-zero (its error is in its stderr).
    """
    ctx = mp.get_context("spawn")
    ready = ctx.Barrier(processes + 1)
    procs = [
        ctx.Process(target=_worker, args=(uri, run_id, w, steps, batch, ready))
        for w in range(processes)
    ]
    for p in procs:
        p.start()
    try:
        ready.wait(timeout=300)
    except threading.BrokenBarrierError:
        for p in procs:
            p.kill()
        raise RuntimeError("logging workers did not start within 300 s") from None
    start = time.perf_counter()
    for p in procs:
        p.join()
    seconds = time.perf_counter() - start
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} logging worker(s) failed: exit codes {failed}")
    return LoadResult(processes, processes * steps * 2, seconds)
