"""The event contract (schema version 1) and a generator of realistic e-commerce traffic.

Wire format: one JSON object per Kafka record, keyed by ``user_id`` so every event of a
user lands on the same partition, in the order it was produced::

    {"schema_version": 1, "event_id": "9f3a...", "user_id": "u0042",
     "event_type": "purchase", "item_id": "i0117", "amount": 23.5,
     "event_time": 1767225600000}

``event_time`` is when the thing happened (epoch milliseconds, the time windows use);
the Kafka record timestamp is when it was produced (the time latency is measured from).
``amount`` is set on purchases only. Producers bump ``schema_version`` on incompatible
changes; the processor rejects versions it does not know (see :mod:`featstream.quality`).
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Literal

SCHEMA_VERSION = 1
EVENT_TYPES: tuple[str, ...] = ("view", "click", "add_to_cart", "purchase")

#: The contract in Avro-like notation, shown by ``featstream schema`` and in the README.
EVENT_SCHEMA: dict[str, object] = {
    "name": "UserEvent",
    "version": SCHEMA_VERSION,
    "fields": [
        {"name": "schema_version", "type": "int"},
        {"name": "event_id", "type": "string", "doc": "unique; duplicates are applied once"},
        {"name": "user_id", "type": "string", "doc": "the entity; also the record key"},
        {"name": "event_type", "type": {"enum": list(EVENT_TYPES)}},
        {"name": "item_id", "type": "string"},
        {"name": "amount", "type": ["null", "double"], "doc": "purchases only, > 0"},
        {"name": "event_time", "type": "long", "doc": "epoch milliseconds, event time"},
    ],
}

Kind = Literal["ok", "duplicate", "late", "malformed"]


@dataclass(frozen=True, slots=True)
class Event:
    """One valid user event."""

    event_id: str
    user_id: str
    event_type: str
    item_id: str
    amount: float | None
    event_time: int
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> bytes:
        """Serialize to the wire format."""
        return json.dumps(asdict(self), separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A record to produce: key, value, and what the generator meant it to be."""

    key: bytes
    value: bytes
    kind: Kind


#: Start of the simulated clock (2026-01-01T00:00:00Z) unless the caller picks another.
DEFAULT_START_MS = 1_767_225_600_000

_MALFORMED = (
    "invalid_json",
    "missing_user",
    "negative_amount",
    "unknown_type",
    "future_schema",
    "null_time",
    "amount_not_number",
)


class EventGenerator:
    """Deterministic (seeded) user traffic on a simulated event-time clock.

    The clock advances by an exponential gap per event (``mean_gap_ms`` of event time), so
    a few thousand events span many windows while being produced in seconds. Users follow a
    Zipf-like popularity, so a few are heavy and most are light.

    Args:
        seed: Same seed, same stream.
        users: Number of distinct users (entities).
        items: Size of the item catalogue.
        mean_gap_ms: Mean event-time gap between consecutive events.
        duplicate_rate: Share of records that re-send a recent event (same ``event_id``).
        late_rate: Share of events whose event time is pushed back by ``late_by_s``.
        malformed_rate: Share of records that break the contract (bad JSON, bad fields).
        late_by_s: Range of that push-back, in seconds (the default straddles the
            processor's default watermark delay + allowed lateness of 70 s).
        start_ms: Start of the simulated clock.
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        users: int = 200,
        items: int = 300,
        mean_gap_ms: float = 200.0,
        duplicate_rate: float = 0.0,
        late_rate: float = 0.0,
        malformed_rate: float = 0.0,
        late_by_s: tuple[float, float] = (15.0, 150.0),
        start_ms: int = DEFAULT_START_MS,
    ) -> None:
        for name, rate in (
            ("duplicate_rate", duplicate_rate),
            ("late_rate", late_rate),
            ("malformed_rate", malformed_rate),
        ):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {rate}")
        if duplicate_rate + late_rate + malformed_rate >= 1.0:
            raise ValueError("duplicate_rate + late_rate + malformed_rate must stay below 1")
        if users < 1 or items < 1:
            raise ValueError("users and items must be at least 1")
        self._rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
        self._users = [f"u{i:05d}" for i in range(users)]
        self._weights = [1.0 / (rank + 1) ** 0.8 for rank in range(users)]
        self._items = [f"i{i:05d}" for i in range(items)]
        self.mean_gap_ms = mean_gap_ms
        self.duplicate_rate = duplicate_rate
        self.late_rate = late_rate
        self.malformed_rate = malformed_rate
        self.late_by_ms = (late_by_s[0] * 1000.0, late_by_s[1] * 1000.0)
        self.clock_ms = float(start_ms)
        self._recent: deque[Outgoing] = deque(maxlen=50)

    def _event(self, event_time: int) -> Event:
        rng = self._rng
        event_type = rng.choices(EVENT_TYPES, weights=(60, 25, 10, 5))[0]
        amount = round(rng.lognormvariate(3.0, 0.8), 2) if event_type == "purchase" else None
        return Event(
            event_id=f"{rng.getrandbits(64):016x}",
            user_id=rng.choices(self._users, weights=self._weights)[0],
            event_type=event_type,
            item_id=rng.choice(self._items),
            amount=amount,
            event_time=event_time,
        )

    def _malformed(self, event: Event) -> Outgoing:
        kind = self._rng.choice(_MALFORMED)
        record = asdict(event)
        if kind == "invalid_json":
            return Outgoing(event.user_id.encode(), event.to_json()[:-7], "malformed")
        if kind == "missing_user":
            del record["user_id"]
        elif kind == "negative_amount":
            record["event_type"], record["amount"] = "purchase", -abs(event.amount or 9.99)
        elif kind == "unknown_type":
            record["event_type"] = "teleport"
        elif kind == "future_schema":
            record["schema_version"] = SCHEMA_VERSION + 1
        elif kind == "null_time":
            record["event_time"] = None
        else:
            record["event_type"], record["amount"] = "purchase", "12,50"
        value = json.dumps(record, separators=(",", ":")).encode()
        return Outgoing(event.user_id.encode(), value, "malformed")

    def __iter__(self) -> Iterator[Outgoing]:
        return self

    def __next__(self) -> Outgoing:
        rng = self._rng
        self.clock_ms += rng.expovariate(1.0 / self.mean_gap_ms)
        roll = rng.random()
        if roll < self.duplicate_rate and self._recent:
            original = rng.choice(self._recent)
            return Outgoing(original.key, original.value, "duplicate")
        roll -= self.duplicate_rate
        if roll < self.malformed_rate:
            return self._malformed(self._event(int(self.clock_ms)))
        roll -= self.malformed_rate
        if roll < self.late_rate:
            event_time = int(self.clock_ms - rng.uniform(*self.late_by_ms))
            kind: Kind = "late"
        else:
            event_time, kind = int(self.clock_ms), "ok"
        event = self._event(event_time)
        out = Outgoing(event.user_id.encode(), event.to_json(), kind)
        self._recent.append(out)
        return out
