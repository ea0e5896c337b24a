"""Traffic for the service: transactions to score and, later, their true labels.

The generator knows the ground truth of every transaction it sends (it drew it), so it plays
both the clients calling ``/predict`` and the back office that reports chargebacks to
``/feedback`` a little later. ``drift`` and ``concept`` (see :func:`modelmon.model.generate`)
degrade the traffic for the demo.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from modelmon.model import FEATURES, generate


@dataclass
class TrafficStats:
    """What one run of traffic did."""

    sent: int = 0
    ok: int = 0
    failed: int = 0
    feedback: int = 0
    status_codes: dict[int, int] = field(default_factory=dict)


async def drive(
    url: str,
    *,
    seconds: float,
    concurrency: int = 8,
    drift: float = 0.0,
    concept: float = 0.0,
    label_delay: float = 0.5,
    seed: int = 0,
    stop: threading.Event | None = None,
) -> TrafficStats:
    """Send transactions for ``seconds``; send each one's label ``label_delay`` s later.

    Args:
        url: Service base URL.
        seconds: How long to send.
        concurrency: Requests in flight at once.
        drift: Input shift of the traffic (0..1).
        concept: How far the true fraud pattern moved (0..1).
        label_delay: Seconds before a prediction's label is sent.
        seed: Seed of the traffic.
        stop: Set it to end the run before ``seconds`` are up.
    """
    x, y = generate(200_000, seed=seed, drift=drift, concept=concept)
    stats = TrafficStats()
    labels: deque[tuple[float, str, int]] = deque()
    counter = iter(range(len(y)))

    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        # The clock starts once the client exists: building it (TLS context, CA bundle) can
        # take seconds on a loaded machine, and that must not eat a short run.
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            while time.monotonic() < deadline and not (stop and stop.is_set()):
                i = next(counter)
                body = {f: float(x[i, j]) for j, f in enumerate(FEATURES)}
                body["txn_last_hour"] = int(body["txn_last_hour"])
                body["hour"] = int(body["hour"])
                stats.sent += 1
                response = await client.post("/predict", json=body)
                stats.status_codes[response.status_code] = (
                    stats.status_codes.get(response.status_code, 0) + 1
                )
                if response.status_code == 200:
                    stats.ok += 1
                    labels.append(
                        (
                            time.monotonic() + label_delay,
                            response.json()["prediction_id"],
                            int(y[i]),
                        )
                    )
                else:
                    stats.failed += 1
                while labels and labels[0][0] <= time.monotonic():
                    _, prediction_id, label = labels.popleft()
                    await client.post(
                        "/feedback", json={"prediction_id": prediction_id, "is_fraud": bool(label)}
                    )
                    stats.feedback += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return stats


def run(url: str, **kwargs: Any) -> TrafficStats:
    """Synchronous wrapper of :func:`drive` (same arguments)."""
    return asyncio.run(drive(url, **kwargs))


class Background:
    """:func:`drive` in a thread until :meth:`stop` (or its ``seconds``) ends it."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self._stop = threading.Event()
        self.stats = TrafficStats()

        def target() -> None:
            self.stats = run(url, stop=self._stop, **kwargs)

        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def stop(self) -> TrafficStats:
        """End the traffic and return what it did."""
        self._stop.set()
        self._thread.join(timeout=30)
        return self.stats
