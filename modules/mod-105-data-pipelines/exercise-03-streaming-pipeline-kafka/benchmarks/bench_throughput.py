"""Throughput and latency of the pipeline against raw kafka-python, on one Tansu broker.

    uv run aiinfra exec 105-03 -- python benchmarks/bench_throughput.py --events 10000

(a) raw: a bare ``KafkaConsumer`` reads the N events from offset 0 (client start included);
(b) pipeline: ``Processor.run(replay=True)`` reads the same N events, validates, windows,
    dedupes and commits them to a fresh SQLite sink (client start and state load included).
Runs alternate (a, b, a, b, ...) and the table shows medians. Then (c): a live consumer
group member and a producer at a fixed rate; p50/p99 of produce-timestamp → sink commit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

from featstream import kafka_io
from featstream.config import FeatstreamSettings
from featstream.events import EventGenerator
from featstream.processor import Processor
from featstream.producer import produce
from featstream.report import percentile
from featstream.sink import open_sink
from kafka import KafkaConsumer, TopicPartition

from aiinfra_shared.services.kafka import kafka


def raw_rate(settings: FeatstreamSettings, n: int) -> float:
    started = time.perf_counter()
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
        max_poll_records=settings.max_poll_records,
    )  # fmt: skip
    tps = [TopicPartition(settings.topic, p) for p in range(settings.partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    seen = 0
    while seen < n:
        for batch in consumer.poll(timeout_ms=500).values():
            for record in batch:
                _ = record.value
            seen += len(batch)
    elapsed = time.perf_counter() - started
    consumer.close()
    return n / elapsed


def pipeline_rate(settings: FeatstreamSettings, n: int, workdir: Path, run: int) -> float:
    sink = open_sink(f"sqlite:///{workdir / f'bench-{run}.db'}")
    started = time.perf_counter()
    report = Processor(settings, sink).run(replay=True)
    elapsed = time.perf_counter() - started
    sink.close()
    assert report.records == n, report.records
    return n / elapsed


def live_latency(settings: FeatstreamSettings, n: int, rate: float, workdir: Path) -> list[float]:
    s = settings.model_copy(update={"topic": "bench-live", "group_id": "bench-live"})
    kafka_io.ensure_topics(s)
    sink = open_sink(f"sqlite:///{workdir / 'live.db'}")
    processor = Processor(s, sink)
    stop = threading.Event()
    thread = threading.Thread(target=lambda: processor.run(stop=stop))
    thread.start()
    while not processor.states:
        time.sleep(0.1)
    produce(s, EventGenerator(seed=2), n, rate=rate)
    while sum(sink.offsets(s.topic).values()) < n:
        time.sleep(0.1)
    stop.set()
    thread.join()
    return processor._report.latencies_ms


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--live-events", type=int, default=3000)
    parser.add_argument("--live-rate", type=float, default=500.0)
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="featstream-bench-") as tmp, kafka() as broker:
        workdir = Path(tmp)  # removed at the end, sinks and all
        settings = FeatstreamSettings(
            bootstrap_servers=broker.url, topic="bench", dlq_topic="bench.dlq"
        )
        kafka_io.ensure_topics(settings)
        produced = produce(settings, EventGenerator(seed=1), args.events)
        raw, pipe = [], []
        for run in range(args.repeat):
            raw.append(raw_rate(settings, args.events))
            pipe.append(pipeline_rate(settings, args.events, workdir, run))
        latencies = live_latency(settings, args.live_events, args.live_rate, workdir)
    raw_m, pipe_m = statistics.median(raw), statistics.median(pipe)
    result = {
        "events": args.events,
        "repeat": args.repeat,
        "produce_per_s": produced.total / produced.elapsed_s,
        "raw_consume_per_s": raw_m,
        "pipeline_per_s": pipe_m,
        "ratio": pipe_m / raw_m,
        "live_rate": args.live_rate,
        "live_p50_ms": percentile(latencies, 50),
        "live_p99_ms": percentile(latencies, 99),
    }
    print(f"\n{args.events} events, median of {args.repeat} alternating runs\n")
    print("| measurement | value |")
    print("|---|---:|")
    print(f"| produce (idempotent, acks=all) | {result['produce_per_s']:,.0f} events/s |")
    print(f"| (a) raw kafka-python consume | {raw_m:,.0f} events/s |")
    print(f"| (b) full pipeline to SQLite | {pipe_m:,.0f} events/s |")
    print(f"| (b) / (a) | {result['ratio']:.0%} |")
    at = f"at {args.live_rate:.0f} events/s"
    print(f"| event-to-feature p50 {at} | {result['live_p50_ms']:.0f} ms |")
    print(f"| event-to-feature p99 {at} | {result['live_p99_ms']:.0f} ms |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
