"""Kafka clients with the settings this pipeline relies on, and topic administration."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from aiinfra_shared.services.kafka import FAST_GROUP_SETTINGS
from featstream.config import FeatstreamSettings
from featstream.errors import BrokerUnavailableError

logger = logging.getLogger(__name__)


def _unavailable(settings: FeatstreamSettings, exc: Exception) -> BrokerUnavailableError:
    return BrokerUnavailableError(
        f"no Kafka broker at {settings.bootstrap_servers} ({exc}); start one with "
        "`uv run aiinfra service kafka` or set FEATSTREAM_BOOTSTRAP_SERVERS"
    )


def check_reachable(settings: FeatstreamSettings, timeout_s: float = 3.0) -> None:
    """Fail fast when no bootstrap server accepts a TCP connection.

    kafka-python itself retries for ~30 s before it gives up on an unreachable bootstrap
    list; a typo in ``FEATSTREAM_BOOTSTRAP_SERVERS`` deserves a clear error in seconds.
    """
    errors = []
    for address in settings.bootstrap_servers.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout_s):
                return
        except (OSError, ValueError) as exc:
            errors.append(f"{address.strip()}: {exc}")
    raise _unavailable(settings, Exception("; ".join(errors)))


def producer(settings: FeatstreamSettings, **overrides: Any) -> KafkaProducer:
    """An idempotent producer: ``acks=all`` and broker-side dedup of retried batches.

    Idempotence makes a *retry* of the same batch harmless; it does not dedupe a second
    ``send`` of the same event by the application, which is why events carry ``event_id``.
    """
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": "featstream-producer",
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "retries": 5,
    } | overrides
    check_reachable(settings)
    try:
        return KafkaProducer(**options)
    except KafkaError as exc:
        raise _unavailable(settings, exc) from exc


def consumer(settings: FeatstreamSettings, *, group: bool = True) -> KafkaConsumer:
    """A consumer with manual commits; in a group unless ``group`` is False (replays).

    The group timings come from :data:`aiinfra_shared.services.kafka.FAST_GROUP_SETTINGS`:
    a 10 s max poll interval, which the processor keeps by polling even while paused.
    """
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": "featstream-processor",
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": settings.max_poll_records,
        **FAST_GROUP_SETTINGS,
    }
    if group:
        options["group_id"] = settings.group_id
    check_reachable(settings)
    try:
        return KafkaConsumer(**options)
    except KafkaError as exc:
        raise _unavailable(settings, exc) from exc


def ensure_topics(settings: FeatstreamSettings, *, timeout_s: float = 15.0) -> None:
    """Create the events and DLQ topics if they do not exist, and wait until they are listed.

    Uses ``KafkaConsumer.topics()`` to list: kafka-python's ``KafkaAdminClient.list_topics``
    cannot parse Tansu's authorized-operations bits.
    """
    check_reachable(settings)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.bootstrap_servers, client_id="featstream-admin"
        )
    except KafkaError as exc:
        raise _unavailable(settings, exc) from exc
    try:
        for name, partitions in (
            (settings.topic, settings.partitions),
            (settings.dlq_topic, 1),
        ):
            try:
                admin.create_topics([NewTopic(name, partitions, 1)])
                logger.info("created topic %s with %d partition(s)", name, partitions)
            except TopicAlreadyExistsError:
                logger.debug("topic %s exists", name)
    finally:
        admin.close()
    lister = consumer(settings, group=False)
    try:
        deadline = time.monotonic() + timeout_s
        while not {settings.topic, settings.dlq_topic} <= lister.topics():
            if time.monotonic() > deadline:
                raise BrokerUnavailableError(f"topics not visible after {timeout_s:.0f} s")
            time.sleep(0.2)
    finally:
        lister.close()


def end_offsets(settings: FeatstreamSettings, topic: str | None = None) -> dict[int, int]:
    """Log-end offset of every partition of a topic (the events topic by default)."""
    from kafka import TopicPartition

    name = topic or settings.topic
    client = consumer(settings, group=False)
    try:
        partitions = client.partitions_for_topic(name) or set()
        ends = client.end_offsets([TopicPartition(name, p) for p in sorted(partitions)])
        return {tp.partition: int(offset) for tp, offset in ends.items()}
    finally:
        client.close()
