"""Produce generated events to the events topic, keyed by user, at a controlled rate."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kafka.errors import KafkaError

from featstream import kafka_io
from featstream.config import FeatstreamSettings
from featstream.errors import FeatstreamError
from featstream.events import Outgoing


@dataclass
class ProduceReport:
    """What :func:`produce` sent."""

    kinds: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    @property
    def total(self) -> int:
        """Records sent."""
        return sum(self.kinds.values())


def produce(
    settings: FeatstreamSettings,
    records: Iterable[Outgoing],
    count: int,
    *,
    rate: float = 0.0,
    on_progress: Callable[[int], None] | None = None,
) -> ProduceReport:
    """Send ``count`` records from ``records`` and wait until the broker acknowledged all.

    Args:
        settings: Bootstrap servers and topic.
        records: Usually an :class:`~featstream.events.EventGenerator`.
        count: How many to send.
        rate: Records per second (0 = as fast as the client goes).
        on_progress: Called with the number of records sent so far, every 100 records.

    Raises:
        BrokerUnavailableError: No broker.
        FeatstreamError: The broker rejected records.
    """
    if count < 0:
        raise FeatstreamError(f"count must be >= 0, got {count}")
    client = kafka_io.producer(settings)
    report = ProduceReport()
    started = time.monotonic()
    futures = []
    try:
        for i, record in enumerate(records):
            if i >= count:
                break
            if rate > 0:
                ahead = i / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
            futures.append(client.send(settings.topic, key=record.key, value=record.value))
            report.kinds[record.kind] += 1
            if on_progress is not None and (i + 1) % 100 == 0:
                on_progress(i + 1)
        client.flush()
        failed = [f.exception for f in futures if f.failed()]
        if failed:
            raise FeatstreamError(f"{len(failed)} record(s) were not acknowledged: {failed[0]}")
    except KafkaError as exc:
        raise FeatstreamError(f"producing to {settings.topic} failed: {exc}") from exc
    finally:
        client.close()
    if on_progress is not None:
        on_progress(report.total)
    report.elapsed_s = time.monotonic() - started
    return report
