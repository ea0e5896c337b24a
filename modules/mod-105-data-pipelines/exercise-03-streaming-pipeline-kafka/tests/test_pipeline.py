"""Integration: producer → real Kafka-protocol broker (Tansu) → processor → sink.

Every test compares the sink with :mod:`fs_reference`, computed from the records read back
from the broker with a plain consumer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import fs_reference
import pytest
from featstream.config import FeatstreamSettings
from featstream.events import EventGenerator
from featstream.processor import Processor, RunReport
from featstream.producer import produce
from featstream.sink import Sink, open_sink
from fs_helpers import read_headers, read_topic

pytestmark = pytest.mark.integration

DIRTY = {"duplicate_rate": 0.05, "late_rate": 0.05, "malformed_rate": 0.02}


def _produce(settings: FeatstreamSettings, n: int, seed: int = 7, **rates: float) -> None:
    report = produce(settings, EventGenerator(seed=seed, users=60, **rates), n)
    assert report.total == n


def _expected(settings: FeatstreamSettings) -> fs_reference.Expected:
    return fs_reference.compute(read_topic(settings))


def test_features_equal_the_reference_and_bad_events_reach_the_dlq(
    settings: FeatstreamSettings, sink: Sink
) -> None:
    _produce(settings, 3000, **DIRTY)
    report = Processor(settings, sink).run(idle_timeout_s=3)
    expected = _expected(settings)
    fs_reference.assert_matches(expected, fs_reference.actual(sink, settings.topic))
    assert report.records == 3000
    assert report.outcomes["duplicate"] > 0
    assert report.outcomes["late_applied"] > 0
    assert report.outcomes["late_dropped"] > 0
    assert report.outcomes["invalid"] > 0
    assert report.latencies_ms

    # Every rejected record is on the DLQ topic with its reason and source, none lost.
    dlq = read_headers(settings, settings.dlq_topic)
    assert len(dlq) == len(expected.dead)
    sources = set()
    for headers, value in dlq:
        body = json.loads(value or b"")
        assert headers["featstream-reason"].decode() == body["reason"]
        assert body["detail"]
        assert body["source"]["topic"] == settings.topic
        sources.add((body["source"]["partition"], body["source"]["offset"]))
    assert sources == {(p, o) for p, o, _ in expected.dead}


def test_late_events_within_lateness_apply_and_beyond_it_are_dropped(
    settings: FeatstreamSettings, sink: Sink
) -> None:
    s = settings.model_copy(update={"partitions": 1})
    _produce(s, 1500, late_rate=0.2)
    report = Processor(s, sink).run(idle_timeout_s=3)
    expected = _expected(s)
    fs_reference.assert_matches(expected, fs_reference.actual(sink, s.topic))
    assert report.outcomes["late_applied"] == expected.outcomes["late_applied"] > 0
    assert report.outcomes["late_dropped"] == expected.outcomes["late_dropped"] > 0
    reasons = {d["reason"] for d in sink.dead_letters(s.topic)}
    assert reasons == {"late"}


def test_replay_from_offset_zero_gives_the_live_features(
    settings: FeatstreamSettings, sink: Sink, tmp_path: Path
) -> None:
    from featstream.report import diff_sinks

    _produce(settings, 2000, **DIRTY)
    Processor(settings, sink).run(idle_timeout_s=3)
    fresh = open_sink(f"sqlite:///{tmp_path / 'replay.db'}")
    report = Processor(settings, fresh).run(replay=True)
    assert report.records == 2000
    assert diff_sinks(sink, fresh, settings.topic) == []
    # A replay over an up-to-date sink has nothing to do.
    assert Processor(settings, fresh).run(replay=True).records == 0


def _process_cmd(settings: FeatstreamSettings, sink_url: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "featstream", "process", "--bootstrap", settings.bootstrap_servers,
        "--topic", settings.topic, "--sink-url", sink_url, *extra,
    ]  # fmt: skip


def _env(settings: FeatstreamSettings) -> dict[str, str]:
    return os.environ | {
        "FEATSTREAM_GROUP_ID": settings.group_id,
        "FEATSTREAM_DLQ_TOPIC": settings.dlq_topic,
        "FEATSTREAM_MAX_POLL_RECORDS": "50",
        "PYTHONDONTWRITEBYTECODE": "",
    }


def test_sigkill_mid_stream_then_restart_loses_nothing_and_counts_nothing_twice(
    settings: FeatstreamSettings, tmp_path: Path
) -> None:
    _produce(settings, 2500, **DIRTY)
    sink_url = f"sqlite:///{tmp_path / 'killed.db'}"
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(
        _process_cmd(settings, sink_url, "--rate-limit", "1000"),
        env=_env(settings), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    sink = open_sink(sink_url)
    try:
        deadline = time.monotonic() + 90
        while sum(sink.offsets(settings.topic).values()) < 500:
            assert first.poll() is None, (tmp_path / "first.log").read_text()
            assert time.monotonic() < deadline, "the processor made no progress"
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    done_at_kill = sum(sink.offsets(settings.topic).values())
    assert 0 < done_at_kill < 2500, "the kill must land mid-stream"

    second = subprocess.run(
        _process_cmd(settings, sink_url, "--idle-timeout", "3"),
        env=_env(settings), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert second.returncode == 0, second.stdout + second.stderr
    fs_reference.assert_matches(_expected(settings), fs_reference.actual(sink, settings.topic))
    assert sum(sink.offsets(settings.topic).values()) == 2500
    assert f"processed {2500 - done_at_kill} records" in second.stdout.replace("\n", " ")


def test_two_consumers_in_one_group_split_the_partitions(
    settings: FeatstreamSettings, tmp_path: Path
) -> None:
    _produce(settings, 3000, **DIRTY)
    sink_url = f"sqlite:///{tmp_path / 'shared.db'}"
    reports: list[RunReport] = []
    errors: list[BaseException] = []

    def member() -> None:
        sink = open_sink(sink_url)
        try:
            reports.append(Processor(settings, sink).run(idle_timeout_s=6))
        except BaseException as exc:
            errors.append(exc)
        finally:
            sink.close()

    threads = [threading.Thread(target=member) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors
    assert len(reports) == 2
    # Both took part; the final assignment splits the 4 partitions between them.
    assert all(r.records > 0 for r in reports), [r.records for r in reports]
    assert sum(r.records for r in reports) == 3000
    check = open_sink(sink_url)
    fs_reference.assert_matches(_expected(settings), fs_reference.actual(check, settings.topic))


class SlowSink:
    """Wraps a sink and makes every commit slow, to force backpressure."""

    def __init__(self, inner: Sink, delay_s: float) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.commits = 0

    def commit(self, *args: Any, **kwargs: Any) -> None:
        time.sleep(self.delay_s)
        self.commits += 1
        self.inner.commit(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_slow_sink_pauses_the_consumer_and_loses_nothing(
    settings: FeatstreamSettings, sink: Sink
) -> None:
    _produce(settings, 600, **DIRTY)
    s = settings.model_copy(update={"max_poll_records": 50, "max_pending_batches": 1})
    slow = SlowSink(sink, 0.2)
    processor = Processor(s, slow)  # type: ignore[arg-type]
    report = processor.run(idle_timeout_s=3)
    assert report.pauses > 0
    assert processor.metrics.pauses._value.get() == report.pauses
    assert 0 < slow.commits <= report.batches
    fs_reference.assert_matches(_expected(s), fs_reference.actual(sink, s.topic))


@pytest.mark.usefixtures("postgres_service")
def test_postgres_sink_gives_the_same_features(
    settings: FeatstreamSettings, postgres_service: Any
) -> None:
    _produce(settings, 1500, **DIRTY)
    pg = open_sink(postgres_service.url)
    try:
        Processor(settings, pg).run(replay=True)
        fs_reference.assert_matches(_expected(settings), fs_reference.actual(pg, settings.topic))
    finally:
        pg.close()
