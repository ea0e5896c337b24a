"""Read topics back with a plain kafka-python consumer (no featstream code involved)."""

from __future__ import annotations

from featstream.config import FeatstreamSettings
from kafka import KafkaConsumer, TopicPartition


def read_topic(
    settings: FeatstreamSettings, topic: str | None = None
) -> list[tuple[int, int, bytes | None]]:
    """Every record of a topic as (partition, offset, value), read with a plain consumer."""
    name = topic or settings.topic
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    try:
        tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        out: list[tuple[int, int, bytes | None]] = []
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for batch in consumer.poll(timeout_ms=500).values():
                out.extend((r.partition, r.offset, r.value) for r in batch)
        return out
    finally:
        consumer.close()


def read_headers(
    settings: FeatstreamSettings, topic: str
) -> list[tuple[dict[str, bytes], bytes | None]]:
    """(headers, value) of every record of a topic."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        out = []
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for batch in consumer.poll(timeout_ms=500).values():
                out.extend((dict(r.headers), r.value) for r in batch)
        return out
    finally:
        consumer.close()
