"""Dynamic batching on the event loop: requests that arrive together share one model call.

Under concurrent load, several requests are parsed in the same turn of the event loop. Each
one calling the model on its own pays the framework's fixed cost per call (torch dispatches
each operator: about 17 us for this tiny network however few rows it gets). Here the first
request of a turn schedules a flush with ``loop.call_soon``; every request that reaches the
model before that flush runs joins it; the flush makes one call for all their rows and hands
each caller its own slice.

No timer and no waiting window: a request that arrives alone is flushed one loop turn later
(microseconds), so concurrency 1 pays almost nothing, and the batches form exactly as large as
the load makes them. Serving systems (Triton, TorchServe, Ray Serve's ``@serve.batch``) wait
a few milliseconds to form larger batches for GPU models; for a CPU model this small, the turn
of the loop is the right window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from time import perf_counter

import numpy as np
import numpy.typing as npt

from mlapi.model import Predictor

Rows = npt.NDArray[np.float32]


class LoopBatcher:
    """Batches :meth:`Predictor.predict_proba` calls made in the same event-loop turn.

    Every request in one flush is answered by the same model version (a reload between two
    flushes changes the next one, never half of one). A model call that raises fails every
    request of its batch with that exception, and a caller that went away (cancelled) is
    skipped, not answered.
    """

    def __init__(
        self,
        predictor: Callable[[], Predictor],
        *,
        observe: Callable[[int, float], None] | None = None,
        max_rows: int = 4096,
    ) -> None:
        """
        Args:
            predictor: Returns the live predictor (looked up at each flush).
            observe: Called with (rows, seconds) after each model call (metrics).
            max_rows: A turn that gathers this many rows is flushed at once.
        """
        self.predictor = predictor
        self.observe = observe
        self.max_rows = max_rows
        self._pending: list[tuple[Rows, asyncio.Future[tuple[str, Rows]]]] = []
        self._rows = 0

    async def predict_proba(self, rows: Rows) -> tuple[str, Rows]:
        """Class probabilities for ``rows``, computed in this turn's shared model call."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[str, Rows]] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((rows, future))
        self._rows += len(rows)
        if self._rows >= self.max_rows:
            self._flush()
        return await future

    def _flush(self) -> None:
        pending, self._pending, self._rows = self._pending, [], 0
        if not pending:
            return  # flushed early when max_rows was reached
        if len(pending) == 1:
            rows, future = pending[0]
            self._answer([future], rows)
            return
        self._answer([f for _, f in pending], np.concatenate([r for r, _ in pending]),
                     [len(r) for r, _ in pending])  # fmt: skip

    def _answer(
        self,
        futures: list[asyncio.Future[tuple[str, Rows]]],
        rows: Rows,
        sizes: list[int] | None = None,
    ) -> None:
        start = perf_counter()
        try:
            version, probs = self.predictor().predict_proba(rows)
        except Exception as exc:  # every caller of the batch gets it
            for future in futures:
                if not future.done():
                    future.set_exception(exc)
            return
        if self.observe is not None:
            self.observe(len(rows), perf_counter() - start)
        if sizes is None:
            if not futures[0].done():
                futures[0].set_result((version, probs))
            return
        first = 0
        for future, size in zip(futures, sizes, strict=True):
            if not future.done():
                future.set_result((version, probs[first : first + size]))
            first += size
