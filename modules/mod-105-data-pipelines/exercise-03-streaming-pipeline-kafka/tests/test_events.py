from __future__ import annotations

import itertools
import json
from collections import Counter

import pytest
from featstream.events import EVENT_TYPES, EventGenerator
from featstream.quality import Rejection, validate


def test_same_seed_gives_the_same_stream() -> None:
    a = [(o.key, o.value) for o in itertools.islice(EventGenerator(seed=3), 200)]
    b = [(o.key, o.value) for o in itertools.islice(EventGenerator(seed=3), 200)]
    c = [(o.key, o.value) for o in itertools.islice(EventGenerator(seed=4), 200)]
    assert a == b
    assert a != c


def test_clean_stream_is_valid_keyed_by_user_and_in_event_time_order() -> None:
    records = list(itertools.islice(EventGenerator(seed=1), 500))
    events = [validate(r.value, max_amount=10_000) for r in records]
    assert not [e for e in events if isinstance(e, Rejection)]
    assert all(r.key == e.user_id.encode() for r, e in zip(records, events, strict=True))  # type: ignore[union-attr]
    times = [e.event_time for e in events]  # type: ignore[union-attr]
    assert times == sorted(times)
    assert {e.event_type for e in events} == set(EVENT_TYPES)  # type: ignore[union-attr]
    assert all((e.amount is not None) == (e.event_type == "purchase") for e in events)  # type: ignore[union-attr]


def test_injection_rates_are_roughly_what_was_asked() -> None:
    gen = EventGenerator(seed=2, duplicate_rate=0.05, late_rate=0.05, malformed_rate=0.01)
    kinds = Counter(o.kind for o in itertools.islice(gen, 20_000))
    assert 800 < kinds["duplicate"] < 1200
    assert 800 < kinds["late"] < 1200
    assert 120 < kinds["malformed"] < 280


def test_duplicates_repeat_an_earlier_event_exactly() -> None:
    gen = EventGenerator(seed=5, duplicate_rate=0.2)
    sent: set[bytes] = set()
    for out in itertools.islice(gen, 1000):
        if out.kind == "duplicate":
            assert out.value in sent
        sent.add(out.value)


def test_late_events_are_behind_the_clock() -> None:
    gen = EventGenerator(seed=6, late_rate=0.3, late_by_s=(20, 30))
    for out in itertools.islice(gen, 500):
        event_time = json.loads(out.value)["event_time"]
        if out.kind == "late":
            assert 20_000 <= gen.clock_ms - event_time <= 30_001


def test_malformed_records_are_all_rejected() -> None:
    gen = EventGenerator(seed=8, malformed_rate=0.5)
    bad = [o for o in itertools.islice(gen, 400) if o.kind == "malformed"]
    assert len(bad) > 100
    assert all(isinstance(validate(o.value, max_amount=10_000), Rejection) for o in bad)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duplicate_rate": 1.0},
        {"late_rate": -0.1},
        {"late_rate": 0.6, "malformed_rate": 0.5},
        {"users": 0},
    ],
)
def test_bad_generator_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        EventGenerator(**kwargs)  # type: ignore[arg-type]
