"""The state machine and the sink together, without Kafka: the rules, restarts, group commit."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import fs_reference
import pytest
from featstream.events import Event, EventGenerator
from featstream.quality import validate
from featstream.sink import Sink, merge_deltas, open_sink
from featstream.state import DeadLetter, PartitionState
from featstream.windows import WindowSpec

SPEC = WindowSpec(60_000, 300_000, 60_000)
TOPIC = "t"


def _state(partition: int = 0, sink: Sink | None = None) -> PartitionState:
    if sink is None:
        return PartitionState(
            partition, SPEC, watermark_delay_ms=10_000, allowed_lateness_ms=60_000
        )
    snap = sink.load_partition(TOPIC, partition)
    return PartitionState(
        partition, SPEC, watermark_delay_ms=10_000, allowed_lateness_ms=60_000,
        next_offset=snap.next_offset, max_event_ms=snap.max_event_ms, entities=snap.entities,
        windows=snap.windows, seen=snap.seen, counters=snap.counters,
    )  # fmt: skip


def _event(eid: str, t_s: float, kind: str = "view", amount: float | None = None) -> bytes:
    return Event(eid, "u1", kind, "i1", amount, int(1_767_225_600_000 + t_s * 1000)).to_json()


def _feed(state: PartitionState, values: list[bytes], start: int = 0) -> list[str]:
    return [
        state.apply(
            start + i, validate(v, max_amount=1e4), key=b"u1", value=v, ingest_ms=1, now_ms=2
        )
        for i, v in enumerate(values)
    ]


def test_lateness_rules() -> None:
    state = _state()
    outcomes = _feed(
        state,
        [
            _event("a", 100),
            _event("b", 95),  # behind max but ahead of the watermark (100 - 10)
            _event("c", 85),  # behind the watermark (90), within lateness (30)
            _event("d", 29),  # 1 s beyond watermark - lateness: dropped
            _event("e", 30),  # exactly at the horizon: applied
            _event("a", 100),  # same id again
        ],
    )
    assert outcomes == [
        "applied",
        "applied",
        "late_applied",
        "late_dropped",
        "late_applied",
        "duplicate",
    ]
    delta = state.drain()
    assert [d.reason for d in delta.dead_letters] == ["late"]
    assert state.entities["u1"].events == 4
    assert delta.counters["late_dropped"] == 1


def test_windows_close_once_past_the_horizon_and_stay_closed() -> None:
    state = _state()
    _feed(state, [_event("a", 10), _event("b", 130)])
    delta = state.drain()  # horizon 130 - 70 = 60: the first tumbling window [0, 60) closes
    closed = {(w.kind, w.start_ms) for w in delta.windows if w.closed}
    assert ("tumbling", 1_767_225_600_000) in closed
    assert all(
        w.start_ms + 60_000 > 1_767_225_600_000 + 60_000
        for w in state.windows.values()
        if w.kind == "tumbling"
    )


def test_invalid_records_become_dead_letters_with_their_reason() -> None:
    state = _state()
    outcomes = _feed(state, [b"{oops", _event("a", 1)])
    assert outcomes == ["invalid", "applied"]
    letters = state.drain().dead_letters
    assert [(x.offset, x.reason) for x in letters] == [(0, "invalid_json")]
    assert letters[0].value == b"{oops"


def test_an_offset_is_never_applied_twice() -> None:
    state = _state()
    _feed(state, [_event("a", 1)])
    with pytest.raises(ValueError, match="already processed"):
        _feed(state, [_event("b", 2)], start=0)


def _records(n: int, seed: int = 11) -> list[tuple[int, int, bytes]]:
    gen = EventGenerator(
        seed=seed, users=30, duplicate_rate=0.05, late_rate=0.08, malformed_rate=0.02
    )
    offsets = itertools.count()
    return [(0, next(offsets), out.value) for out in itertools.islice(gen, n)]


def _run(
    sink: Sink, records: list[tuple[int, int, bytes]], batch: int, restart_every: int | None = None
) -> None:
    state = _state(0, sink)
    for i in range(0, len(records), batch):
        if restart_every and i and i % restart_every == 0:
            state = _state(0, sink)  # a new process: everything comes from the sink
        for _, offset, value in records[i : i + batch]:
            if offset < state.next_offset:
                continue
            state.apply(
                offset,
                validate(value, max_amount=1e4),
                key=b"k",
                value=value,
                ingest_ms=1,
                now_ms=2,
            )
        sink.commit(TOPIC, [state.drain()], now_ms=3)


def test_sink_content_equals_the_reference(sink: Sink) -> None:
    records = _records(3000)
    _run(sink, records, batch=97)
    fs_reference.assert_matches(fs_reference.compute(records), fs_reference.actual(sink, TOPIC))


def test_restarting_from_the_sink_changes_nothing(tmp_path: Path) -> None:
    records = _records(3000)
    once = open_sink(f"sqlite:///{tmp_path / 'once.db'}")
    restarted = open_sink(f"sqlite:///{tmp_path / 'restarted.db'}")
    _run(once, records, batch=50)
    _run(restarted, records, batch=50, restart_every=300)
    assert fs_reference.actual(restarted, TOPIC) == fs_reference.actual(once, TOPIC)


def test_group_commit_writes_the_same_state_as_one_commit_per_batch(tmp_path: Path) -> None:
    records = _records(2000)
    single = open_sink(f"sqlite:///{tmp_path / 'single.db'}")
    merged = open_sink(f"sqlite:///{tmp_path / 'merged.db'}")
    _run(single, records, batch=40)
    state = _state(0)
    deltas = []
    for i in range(0, len(records), 40):
        for _, offset, value in records[i : i + 40]:
            state.apply(
                offset,
                validate(value, max_amount=1e4),
                key=b"k",
                value=value,
                ingest_ms=1,
                now_ms=2,
            )
        deltas.append(state.drain())
    assert len(merge_deltas(deltas)) == 1
    merged.commit(TOPIC, deltas, now_ms=3)
    assert fs_reference.actual(merged, TOPIC) == fs_reference.actual(single, TOPIC)
    assert merged.load_partition(TOPIC, 0).seen == single.load_partition(TOPIC, 0).seen


def test_a_failed_commit_leaves_the_sink_at_the_previous_batch(sink: Sink) -> None:
    state = _state(0, sink)
    _feed(state, [_event("a", 1), b"bad"])
    sink.commit(TOPIC, [state.drain()], now_ms=1)
    before = fs_reference.actual(sink, TOPIC)
    state = _state(0, sink)
    _feed(state, [_event("b", 2)], start=2)
    delta = state.drain()
    # The entity row and the offset are written first; this clashing row fails the batch.
    delta.dead_letters.append(DeadLetter(0, 1, "invalid_json", "again", None, b"bad"))
    with pytest.raises(sqlite3.IntegrityError):
        sink.commit(TOPIC, [delta], now_ms=2)
    assert fs_reference.actual(sink, TOPIC) == before
    assert sink.offsets(TOPIC) == {0: 2}


def test_amounts_are_summed_exactly(sink: Sink) -> None:
    state = _state(0, sink)
    _feed(state, [_event(f"p{i}", i, "purchase", 0.1) for i in range(10)])
    sink.commit(TOPIC, [state.drain()], now_ms=1)
    entity = sink.entity("u1")
    assert entity is not None
    assert entity.amount_cents == 100
