"""An independent, deliberately naive computation of the expected features.

It reads the same records (partition, offset, value) and recomputes everything with plain
dicts and loops, re-deriving the rules from the README rather than reusing featstream's
state code: if the processor and this disagree, one of them misreads the spec.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

TYPES = {"view", "click", "add_to_cart", "purchase"}


@dataclass
class Expected:
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    windows: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    dead: list[tuple[int, int, str]] = field(default_factory=list)


def _valid(value: bytes | None, max_amount: float) -> dict[str, Any] | None:
    try:
        e = json.loads(value or b"")
    except ValueError:
        return None
    if not isinstance(e, dict) or e.get("schema_version") != 1:
        return None
    for k in ("event_id", "user_id", "item_id"):
        if not isinstance(e.get(k), str) or not e[k]:
            return None
    if e.get("event_type") not in TYPES:
        return None
    t = e.get("event_time")
    if type(t) is not int or not 946_684_800_000 <= t < 4_102_444_800_000:
        return None
    a = e.get("amount")
    if e["event_type"] == "purchase":
        if type(a) not in (int, float) or not 0 < a <= max_amount:
            return None
    elif a is not None:
        return None
    return e


def compute(
    records: list[tuple[int, int, bytes | None]],
    *,
    tumbling_s: int = 60,
    sliding_s: int = 300,
    step_s: int = 60,
    delay_s: int = 10,
    lateness_s: int = 60,
    max_amount: float = 10_000.0,
) -> Expected:
    """Expected sink content for ``(partition, offset, value)`` records."""
    out = Expected()
    by_partition: dict[int, list[tuple[int, bytes | None]]] = defaultdict(list)
    for p, o, v in records:
        by_partition[p].append((o, v))
    for p, recs in sorted(by_partition.items()):
        max_t: int | None = None
        seen: set[str] = set()
        for offset, value in sorted(recs, key=lambda r: r[0]):
            e = _valid(value, max_amount)
            if e is None:
                out.outcomes["invalid"] += 1
                out.dead.append((p, offset, "invalid"))
                continue
            t = e["event_time"]
            wm = None if max_t is None else max_t - delay_s * 1000
            if wm is not None and t < wm - lateness_s * 1000:
                out.outcomes["late_dropped"] += 1
                out.dead.append((p, offset, "late"))
                continue
            if e["event_id"] in seen:
                out.outcomes["duplicate"] += 1
                continue
            seen.add(e["event_id"])
            out.outcomes["late_applied" if wm is not None and t < wm else "applied"] += 1
            max_t = t if max_t is None else max(max_t, t)
            cents = round(e["amount"] * 100) if e["amount"] is not None else 0
            u = out.entities.setdefault(
                e["user_id"],
                {"partition": p, "events": 0, "views": 0, "clicks": 0, "add_to_carts": 0,
                 "purchases": 0, "amount_cents": 0, "items": set(), "first": t, "last": t},
            )  # fmt: skip
            u["events"] += 1
            u[{"view": "views", "click": "clicks", "add_to_cart": "add_to_carts",
               "purchase": "purchases"}[e["event_type"]]] += 1  # fmt: skip
            u["amount_cents"] += cents
            u["items"].add(e["item_id"])
            u["first"], u["last"] = min(u["first"], t), max(u["last"], t)
            starts = [("tumbling", t // (tumbling_s * 1000) * tumbling_s * 1000, tumbling_s)]
            s = t // (step_s * 1000) * step_s * 1000
            while s > t - sliding_s * 1000:
                starts.append(("sliding", s, sliding_s))
                s -= step_s * 1000
            for kind, start, size in starts:
                w = out.windows.setdefault(
                    (e["user_id"], kind, start),
                    {"end": start + size * 1000, "partition": p, "events": 0, "purchases": 0,
                     "amount_cents": 0, "items": set()},
                )  # fmt: skip
                w["events"] += 1
                w["purchases"] += e["event_type"] == "purchase"
                w["amount_cents"] += cents
                w["items"].add(e["item_id"])
        if max_t is not None:
            horizon = max_t - delay_s * 1000 - lateness_s * 1000
            for w in out.windows.values():
                if w["partition"] == p:
                    w["closed"] = w["end"] <= horizon
    return out


def actual(sink: Any, topic: str) -> Expected:
    """The same shape, read from a featstream sink."""
    got = Expected()
    for eid, e in sink.all_entities().items():
        got.entities[eid] = {
            "partition": e.partition, "events": e.events, "views": e.views, "clicks": e.clicks,
            "add_to_carts": e.add_to_carts, "purchases": e.purchases,
            "amount_cents": e.amount_cents, "items": e.items, "first": e.first_event_ms,
            "last": e.last_event_ms,
        }  # fmt: skip
    for key, w in sink.all_windows().items():
        got.windows[key] = {
            "end": w.end_ms, "partition": w.partition, "events": w.events,
            "purchases": w.purchases, "amount_cents": w.amount_cents, "items": w.items,
            "closed": w.closed,
        }  # fmt: skip
    for row in sink.partition_stats(topic):
        for name in ("applied", "late_applied", "duplicate", "late_dropped", "invalid"):
            if row[name]:
                got.outcomes[name] += int(row[name])
    for d in sink.dead_letters(topic):
        got.dead.append(
            (d["partition"], d["record_offset"], "late" if d["reason"] == "late" else "invalid")
        )
    return got


def assert_matches(expected: Expected, got: Expected) -> None:
    """Compare, with messages that point at the first difference."""
    assert dict(got.outcomes) == dict(expected.outcomes)
    assert got.entities.keys() == expected.entities.keys()
    for key, value in expected.entities.items():
        assert got.entities[key] == value, key
    assert got.windows.keys() == expected.windows.keys()
    for key, value in expected.windows.items():
        assert got.windows[key] == value, key
    assert sorted(got.dead) == sorted(expected.dead)
