"""Online feature serving: ``GET /v1/features/{entity_id}`` straight from the sink.

The API only reads the sink (SQLite WAL readers never block the processor). ``/metrics``
combines HTTP metrics with gauges read from the sink at scrape time: outcome counters,
DLQ size, freshness, and consumer lag (log-end offsets from the broker minus the sink's
offsets: the lag that matters for an exactly-once sink).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Query
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel

from aiinfra_shared.metrics import instrument_app, new_registry
from featstream import kafka_io
from featstream.config import FeatstreamSettings
from featstream.errors import FeatstreamError
from featstream.sink import Sink, open_sink
from featstream.state import OUTCOMES, EntityFeatures, WindowAggregate
from featstream.windows import SLIDING, TUMBLING

logger = logging.getLogger(__name__)


class WindowOut(BaseModel):
    """One window's aggregates."""

    start: int
    end: int
    closed: bool
    events: int
    purchases: int
    amount: float
    distinct_items: int


class Freshness(BaseModel):
    """How current the features are.

    ``feature_lag_ms``: produce time of the last applied event to its commit in the sink
    (event-to-feature lag). ``age_ms``: how long ago the features were written.
    ``time_since_last_event_s``: event time from the user's last event to the newest event
    on the partition (stream time, so it is meaningful on replays and simulated clocks too).
    """

    feature_lag_ms: int
    age_ms: int
    time_since_last_event_s: float
    watermark_ms: int | None


class FeaturesOut(BaseModel):
    """Online features of one entity."""

    entity_id: str
    partition: int
    events: int
    views: int
    clicks: int
    add_to_carts: int
    purchases: int
    amount_total: float
    distinct_items: int
    first_event_time: int
    last_event_time: int
    conversion_rate: float
    tumbling: list[WindowOut]
    sliding: list[WindowOut]
    freshness: Freshness


def _window(w: WindowAggregate) -> WindowOut:
    return WindowOut(
        start=w.start_ms,
        end=w.end_ms,
        closed=w.closed,
        events=w.events,
        purchases=w.purchases,
        amount=w.amount_cents / 100,
        distinct_items=len(w.items),
    )


def features_out(
    entity: EntityFeatures,
    tumbling: list[WindowAggregate],
    sliding: list[WindowAggregate],
    *,
    partition_max_event_ms: int | None,
    watermark_delay_ms: int,
    now_ms: int,
) -> FeaturesOut:
    """Shape the sink's rows into the API response."""
    stream_now = partition_max_event_ms or entity.last_event_ms
    return FeaturesOut(
        entity_id=entity.entity_id,
        partition=entity.partition,
        events=entity.events,
        views=entity.views,
        clicks=entity.clicks,
        add_to_carts=entity.add_to_carts,
        purchases=entity.purchases,
        amount_total=entity.amount_cents / 100,
        distinct_items=len(entity.items),
        first_event_time=entity.first_event_ms,
        last_event_time=entity.last_event_ms,
        conversion_rate=entity.purchases / entity.views if entity.views else 0.0,
        tumbling=[_window(w) for w in tumbling],
        sliding=[_window(w) for w in sliding],
        freshness=Freshness(
            feature_lag_ms=max(0, entity.updated_ms - entity.last_ingest_ms),
            age_ms=max(0, now_ms - entity.updated_ms),
            time_since_last_event_s=max(0, stream_now - entity.last_event_ms) / 1000,
            watermark_ms=None
            if partition_max_event_ms is None
            else partition_max_event_ms - watermark_delay_ms,
        ),
    )


class SinkCollector(Collector):
    """Gauges read from the sink (and the broker's log-end offsets) at scrape time."""

    def __init__(self, settings: FeatstreamSettings, sink: Sink) -> None:
        self.settings = settings
        self.sink = sink

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """One scrape."""
        try:
            stats = self.sink.partition_stats(self.settings.topic)
        except Exception:  # a scrape must not fail because the sink is busy or missing
            logger.exception("sink unreadable during scrape")
            return
        outcomes = GaugeMetricFamily(
            "featstream_sink_events", "Records committed to the sink, by outcome.",
            labels=["outcome"],
        )  # fmt: skip
        for name in OUTCOMES:
            outcomes.add_metric([name], sum(int(row[name]) for row in stats))
        yield outcomes
        updated = [int(row["updated_ms"]) for row in stats]
        freshness = GaugeMetricFamily(
            "featstream_sink_age_seconds", "Seconds since the processor last committed."
        )
        if updated:
            freshness.add_metric([], max(0.0, time.time() - max(updated) / 1000))
        yield freshness
        lag = GaugeMetricFamily(
            "featstream_sink_lag_records", "Log-end offset minus the sink's next offset.",
            labels=["partition"],
        )  # fmt: skip
        try:
            ends = kafka_io.end_offsets(self.settings)
        except FeatstreamError:
            ends = {}
        done = {int(row["partition"]): int(row["next_offset"]) for row in stats}
        for partition, end in sorted(ends.items()):
            lag.add_metric([str(partition)], end - done.get(partition, 0))
        yield lag


def create_app(settings: FeatstreamSettings, sink: Sink | None = None) -> FastAPI:
    """The online feature API.

    Args:
        settings: Sink URL, topic and window settings.
        sink: An open sink to read (opened from ``settings.sink_url`` when None).
    """
    registry = new_registry()
    state: dict[str, Sink] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        opened = sink or open_sink(settings.sink_url)
        state["sink"] = opened
        registry.register(SinkCollector(settings, opened))
        try:
            yield
        finally:
            if sink is None:
                opened.close()

    app = FastAPI(
        title="featstream online features",
        version="1",
        lifespan=lifespan,
        description="Real-time user features computed from a Kafka stream.",
    )
    instrument_app(app, prefix="featstream_api", registry=registry)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {"description": "The sink cannot be read"}})
    def readyz() -> dict[str, Any]:
        """Readiness: the sink can be read."""
        try:
            partitions = state["sink"].offsets(settings.topic)
        except Exception as exc:
            raise HTTPException(503, f"sink not readable: {exc}") from exc
        return {"status": "ready", "partitions": len(partitions)}

    @app.get(
        "/v1/features/{entity_id}",
        response_model=FeaturesOut,
        responses={404: {"description": "No features for this entity (yet)"}},
    )
    def features(
        entity_id: Annotated[str, Path(min_length=1, max_length=200)],
        windows: Annotated[int, Query(ge=1, le=50, description="Latest windows per kind.")] = 3,
    ) -> FeaturesOut:
        """Online features of one user: all-time counts plus the latest windows."""
        store = state["sink"]
        entity = store.entity(entity_id)
        if entity is None:
            raise HTTPException(404, f"no features for entity {entity_id!r}")
        max_event = next(
            (
                row["max_event_ms"]
                for row in store.partition_stats(settings.topic)
                if row["partition"] == entity.partition
            ),
            None,
        )
        return features_out(
            entity,
            store.entity_windows(entity_id, TUMBLING, windows),
            store.entity_windows(entity_id, SLIDING, windows),
            partition_max_event_ms=max_event,
            watermark_delay_ms=settings.watermark_delay_s * 1000,
            now_ms=int(time.time() * 1000),
        )

    @app.get("/v1/stats")
    def stats() -> dict[str, Any]:
        """Per-partition offsets, watermarks and outcome counters, plus DLQ reasons."""
        store = state["sink"]
        reasons: dict[str, int] = {}
        for letter in store.dead_letters(settings.topic):
            reasons[letter["reason"]] = reasons.get(letter["reason"], 0) + 1
        return {"partitions": store.partition_stats(settings.topic), "dead_letters": reasons}

    return app
