"""Per-partition stream state: features, open windows, watermark, dedup, counters.

Pure logic with no I/O: :class:`PartitionState` applies events in offset order and hands
the rows that changed to the sink as a :class:`Delta`, which the sink writes in one
transaction together with the next offset. State is per partition because a key (user)
always maps to one partition, so the result depends only on the partition's log: the same
for one consumer or many, for a live run or a replay from offset 0.

Event-time rules, for an event at time ``t`` on a partition whose largest event time so
far is ``M`` (watermark ``W = M - watermark_delay``, lateness ``L``):

1. ``t < W - L``: too late, dropped (outcome ``late_dropped``, recorded as a dead letter).
2. ``event_id`` already applied: dropped (``duplicate``).
3. Otherwise applied to the entity and to every window containing ``t``; it is
   ``late_applied`` when ``t < W`` and ``applied`` otherwise. ``M`` becomes ``max(M, t)``.

A window ``[start, end)`` is final once ``end <= W - L``: no event can reach it any more.
Event ids are forgotten at the same horizon: a duplicate older than ``W - L`` is dropped
by rule 1 before rule 2 needs the id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from featstream.events import Event
from featstream.quality import Rejection
from featstream.windows import WindowSpec

Outcome = Literal["applied", "late_applied", "duplicate", "late_dropped", "invalid"]
OUTCOMES: tuple[Outcome, ...] = ("applied", "late_applied", "duplicate", "late_dropped", "invalid")

_COUNT_COLUMN = {
    "view": "views",
    "click": "clicks",
    "add_to_cart": "add_to_carts",
    "purchase": "purchases",
}


@dataclass(slots=True)
class EntityFeatures:
    """All-time features of one user. Amounts are kept in integer cents (exact sums)."""

    entity_id: str
    partition: int
    events: int = 0
    views: int = 0
    clicks: int = 0
    add_to_carts: int = 0
    purchases: int = 0
    amount_cents: int = 0
    items: set[str] = field(default_factory=set)
    first_event_ms: int = 0
    last_event_ms: int = 0
    last_ingest_ms: int = 0
    updated_ms: int = 0

    def apply(self, event: Event, ingest_ms: int) -> None:
        """Fold one event in."""
        if self.events == 0 or event.event_time < self.first_event_ms:
            self.first_event_ms = event.event_time
        self.last_event_ms = max(self.last_event_ms, event.event_time)
        self.events += 1
        column = _COUNT_COLUMN[event.event_type]
        setattr(self, column, getattr(self, column) + 1)
        if event.amount is not None:
            self.amount_cents += round(event.amount * 100)
        self.items.add(event.item_id)
        self.last_ingest_ms = ingest_ms


@dataclass(slots=True)
class WindowAggregate:
    """Aggregates of one user in one window."""

    entity_id: str
    kind: str
    start_ms: int
    end_ms: int
    partition: int
    events: int = 0
    purchases: int = 0
    amount_cents: int = 0
    items: set[str] = field(default_factory=set)
    closed: bool = False

    @property
    def key(self) -> tuple[str, str, int]:
        """Primary key: entity, kind, start."""
        return (self.entity_id, self.kind, self.start_ms)

    def apply(self, event: Event) -> None:
        """Fold one event in."""
        self.events += 1
        if event.event_type == "purchase":
            self.purchases += 1
        if event.amount is not None:
            self.amount_cents += round(event.amount * 100)
        self.items.add(event.item_id)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that was not applied, with where it came from and why."""

    partition: int
    offset: int
    reason: str
    detail: str
    key: bytes | None
    value: bytes | None


@dataclass(slots=True)
class Delta:
    """What one batch changed on one partition: written atomically by the sink.

    Entity and window objects are copies, so the processor can go on mutating its state
    while a writer thread commits this delta.
    """

    partition: int
    next_offset: int
    max_event_ms: int | None
    entities: list[EntityFeatures]
    windows: list[WindowAggregate]
    seen: list[tuple[str, int]]
    forget_seen_before: int | None
    dead_letters: list[DeadLetter]
    counters: dict[str, int]
    ingest_ms: list[int]


def _copy_entity(e: EntityFeatures) -> EntityFeatures:
    return EntityFeatures(
        e.entity_id, e.partition, e.events, e.views, e.clicks, e.add_to_carts, e.purchases,
        e.amount_cents, set(e.items), e.first_event_ms, e.last_event_ms, e.last_ingest_ms,
        e.updated_ms,
    )  # fmt: skip


def _copy_window(w: WindowAggregate) -> WindowAggregate:
    return WindowAggregate(
        w.entity_id, w.kind, w.start_ms, w.end_ms, w.partition, w.events, w.purchases,
        w.amount_cents, set(w.items), w.closed,
    )  # fmt: skip


class PartitionState:
    """The processor's state for one partition (see the module docstring for the rules).

    Args:
        partition: Partition number.
        spec: Window sizes.
        watermark_delay_ms: How far the watermark trails the largest event time.
        allowed_lateness_ms: How far behind the watermark an event may still be applied.
        next_offset: Offset of the next record to process (from the sink).
        max_event_ms: Largest event time applied so far (from the sink).
        entities: Entity features of this partition (from the sink).
        windows: Open windows of this partition (from the sink).
        seen: Event ids applied and not yet forgotten, with their event times.
        counters: Outcome counters so far.
    """

    def __init__(
        self,
        partition: int,
        spec: WindowSpec,
        *,
        watermark_delay_ms: int,
        allowed_lateness_ms: int,
        next_offset: int = 0,
        max_event_ms: int | None = None,
        entities: dict[str, EntityFeatures] | None = None,
        windows: dict[tuple[str, str, int], WindowAggregate] | None = None,
        seen: dict[str, int] | None = None,
        counters: dict[str, int] | None = None,
    ) -> None:
        self.partition = partition
        self.spec = spec
        self.watermark_delay_ms = watermark_delay_ms
        self.allowed_lateness_ms = allowed_lateness_ms
        self.next_offset = next_offset
        self.max_event_ms = max_event_ms
        self.entities = entities or {}
        self.windows = windows or {}
        self.seen = seen or {}
        self.counters = dict.fromkeys(OUTCOMES, 0) | (counters or {})
        self._dirty_entities: set[str] = set()
        self._dirty_windows: set[tuple[str, str, int]] = set()
        self._new_seen: list[tuple[str, int]] = []
        self._dead: list[DeadLetter] = []
        self._ingest: list[int] = []

    @property
    def watermark(self) -> int | None:
        """Current watermark in epoch ms, or None before the first event."""
        if self.max_event_ms is None:
            return None
        return self.max_event_ms - self.watermark_delay_ms

    def _horizon(self) -> int | None:
        wm = self.watermark
        return None if wm is None else wm - self.allowed_lateness_ms

    def apply(
        self,
        offset: int,
        parsed: Event | Rejection,
        *,
        key: bytes | None,
        value: bytes | None,
        ingest_ms: int,
        now_ms: int,
    ) -> Outcome:
        """Process the record at ``offset`` (validated already) and return its outcome."""
        if offset < self.next_offset:
            raise ValueError(
                f"partition {self.partition}: offset {offset} was already processed "
                f"(next is {self.next_offset})"
            )
        self.next_offset = offset + 1
        outcome = self._apply(offset, parsed, key=key, value=value, ingest_ms=ingest_ms)
        self.counters[outcome] += 1
        if outcome in ("applied", "late_applied"):
            self._ingest.append(ingest_ms)
            assert isinstance(parsed, Event)
            self.entities[parsed.user_id].updated_ms = now_ms
        return outcome

    def _apply(
        self,
        offset: int,
        parsed: Event | Rejection,
        *,
        key: bytes | None,
        value: bytes | None,
        ingest_ms: int,
    ) -> Outcome:
        if isinstance(parsed, Rejection):
            self._dead.append(
                DeadLetter(self.partition, offset, parsed.reason, parsed.detail, key, value)
            )
            return "invalid"
        t = parsed.event_time
        horizon = self._horizon()
        if horizon is not None and t < horizon:
            detail = f"event_time {t} is {horizon - t} ms behind watermark - allowed lateness"
            self._dead.append(DeadLetter(self.partition, offset, "late", detail, key, value))
            return "late_dropped"
        if parsed.event_id in self.seen:
            return "duplicate"
        watermark = self.watermark
        entity = self.entities.get(parsed.user_id)
        if entity is None:
            entity = self.entities[parsed.user_id] = EntityFeatures(parsed.user_id, self.partition)
        entity.apply(parsed, ingest_ms)
        self._dirty_entities.add(parsed.user_id)
        for kind, start, end in self.spec.windows(t):
            wkey = (parsed.user_id, kind, start)
            window = self.windows.get(wkey)
            if window is None:
                window = self.windows[wkey] = WindowAggregate(
                    parsed.user_id, kind, start, end, self.partition
                )
            window.apply(parsed)
            self._dirty_windows.add(wkey)
        self.seen[parsed.event_id] = t
        self._new_seen.append((parsed.event_id, t))
        if self.max_event_ms is None or t > self.max_event_ms:
            self.max_event_ms = t
        return "late_applied" if watermark is not None and t < watermark else "applied"

    def drain(self) -> Delta:
        """Close windows past the horizon, forget old ids, and return what changed."""
        horizon = self._horizon()
        forget_before = None
        if horizon is not None:
            for wkey, window in list(self.windows.items()):
                if window.end_ms <= horizon:
                    window.closed = True
                    self._dirty_windows.add(wkey)
            old = [eid for eid, t in self.seen.items() if t < horizon]
            for eid in old:
                del self.seen[eid]
            forget_before = horizon
        new_seen = [(eid, t) for eid, t in self._new_seen if horizon is None or t >= horizon]
        delta = Delta(
            partition=self.partition,
            next_offset=self.next_offset,
            max_event_ms=self.max_event_ms,
            entities=[_copy_entity(self.entities[e]) for e in sorted(self._dirty_entities)],
            windows=[_copy_window(self.windows[k]) for k in sorted(self._dirty_windows)],
            seen=new_seen,
            forget_seen_before=forget_before,
            dead_letters=self._dead,
            counters=dict(self.counters),
            ingest_ms=self._ingest,
        )
        for wkey in [k for k, w in self.windows.items() if w.closed]:
            del self.windows[wkey]
        self._dirty_entities = set()
        self._dirty_windows = set()
        self._new_seen = []
        self._dead = []
        self._ingest = []
        return delta
