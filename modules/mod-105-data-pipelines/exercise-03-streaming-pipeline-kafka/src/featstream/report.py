"""Compare two sinks, and render run summaries for people."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

from rich.table import Table

from featstream.processor import RunReport
from featstream.producer import ProduceReport
from featstream.sink import Sink
from featstream.state import OUTCOMES

#: Columns that depend on wall-clock time, not on the events: excluded from comparisons.
VOLATILE = frozenset({"updated_ms", "last_ingest_ms"})


def _comparable(obj: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in obj.__slots__ if k not in VOLATILE}


def diff_sinks(a: Sink, b: Sink, topic: str, *, limit: int = 10) -> list[str]:
    """Differences between the features of two sinks (empty when they agree).

    Compares entity features, every window (open and closed), outcome counters per
    partition and dead letters; ignores wall-clock columns (:data:`VOLATILE`).
    """
    problems: list[str] = []
    for label, left, right in (
        ("entity", a.all_entities(), b.all_entities()),
        ("window", a.all_windows(), b.all_windows()),
    ):
        left_c: Mapping[Any, dict[str, Any]] = {k: _comparable(v) for k, v in left.items()}
        right_c: Mapping[Any, dict[str, Any]] = {k: _comparable(v) for k, v in right.items()}
        for key in sorted(set(left_c) | set(right_c), key=str):
            if left_c.get(key) != right_c.get(key):
                problems.append(f"{label} {key}: {left_c.get(key)} != {right_c.get(key)}")
    stats_a = {r["partition"]: r for r in a.partition_stats(topic)}
    stats_b = {r["partition"]: r for r in b.partition_stats(topic)}
    for p in sorted(set(stats_a) | set(stats_b)):
        for col in ("next_offset", "max_event_ms", *OUTCOMES):
            va, vb = stats_a.get(p, {}).get(col), stats_b.get(p, {}).get(col)
            if va != vb:
                problems.append(f"partition {p} {col}: {va} != {vb}")
    dl_a = [(d["partition"], d["record_offset"], d["reason"]) for d in a.dead_letters(topic)]
    dl_b = [(d["partition"], d["record_offset"], d["reason"]) for d in b.dead_letters(topic)]
    if dl_a != dl_b:
        problems.append(f"dead letters differ: {len(dl_a)} vs {len(dl_b)}")
    return problems[:limit] + ([f"... and {len(problems) - limit} more"] * (len(problems) > limit))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values, 0.0 for none."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, int(q) - 1))]


def summary_table(produced: ProduceReport | None, run: RunReport, sink: Sink, topic: str) -> Table:
    """The demo's closing table: in, out, DLQ, duplicates, late, latency."""
    table = Table(title="featstream run summary", show_lines=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    if produced is not None:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(produced.kinds.items()))
        table.add_row("events produced", f"{produced.total} ({kinds})")
        table.add_row("produce rate", f"{produced.total / max(produced.elapsed_s, 1e-9):,.0f}/s")
    table.add_row("records processed", f"{run.records}")
    # Not a throughput: the run includes the group join and waiting for the producer
    # (benchmarks/bench_throughput.py measures throughput).
    table.add_row("processor run time", f"{run.elapsed_s:.1f} s")
    for outcome in OUTCOMES:
        table.add_row(f"  {outcome.replace('_', ' ')}", f"{run.outcomes.get(outcome, 0)}")
    entities = sink.all_entities()
    windows = sink.all_windows()
    closed = sum(w.closed for w in windows.values())
    table.add_row("entities with features", f"{len(entities)}")
    table.add_row("windows (closed / open)", f"{closed} / {len(windows) - closed}")
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(run.dead_letters.items())) or "none"
    table.add_row("dead letters", f"{sum(run.dead_letters.values())} ({reasons})")
    table.add_row("backpressure pauses", f"{run.pauses}")
    lat = run.latencies_ms
    table.add_row(
        "event-to-feature latency p50 / p99",
        f"{percentile(lat, 50):.0f} ms / {percentile(lat, 99):.0f} ms",
    )
    return table
