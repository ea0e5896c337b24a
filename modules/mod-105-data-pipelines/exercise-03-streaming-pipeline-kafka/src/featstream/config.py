"""Settings of featstream: environment variables ``FEATSTREAM_*`` or a ``.env`` file."""

from __future__ import annotations

from pydantic import Field, model_validator

from aiinfra_shared.config import AiinfraSettings, settings_config


class FeatstreamSettings(AiinfraSettings):
    """Every knob has a default that works on a laptop.

    Attributes:
        bootstrap_servers: Kafka bootstrap address; the demo and tests set it to the local
            Tansu broker. Point it at a real cluster and nothing else changes.
        topic: Topic of the raw events.
        dlq_topic: Dead-letter topic: events that failed validation, with the reason.
        partitions: Partitions created for the events topic (when featstream creates it).
        group_id: Consumer group of the processors.
        sink_url: Where features go: ``sqlite:///path.db`` or ``postgresql://...``.
        tumbling_window_s: Size of the tumbling windows, in seconds of event time.
        sliding_window_s: Size of the sliding (hopping) windows.
        sliding_step_s: Step between sliding windows; must divide ``sliding_window_s``.
        watermark_delay_s: Out-of-orderness bound: the watermark trails the largest event
            time seen on a partition by this much.
        allowed_lateness_s: Events behind the watermark by at most this much still update
            their windows; older ones are dropped (and recorded in the DLQ as ``late``).
        max_amount: Largest valid purchase amount; larger ones are rejected as out of range.
        max_poll_records: Records fetched per poll: the unit of work and of commit.
        max_pending_batches: Batches processed but not yet written to the sink. When the
            writer falls this far behind, the consumer pauses its partitions (backpressure).
        rate_limit: Events per second the processor handles at most (0 = unlimited); for
            demos of lag and backpressure.
        host: Bind address of ``featstream serve``.
        port: Port of ``featstream serve``.
        metrics_port: Port of the processor's own ``/metrics`` (0 = off).
    """

    model_config = settings_config("FEATSTREAM_")

    bootstrap_servers: str = "127.0.0.1:9092"
    topic: str = "featstream.events"
    dlq_topic: str = "featstream.events.dlq"
    partitions: int = Field(default=4, ge=1, le=256)
    group_id: str = "featstream-processor"
    sink_url: str = "sqlite:///artifacts/featstream/features.db"
    tumbling_window_s: int = Field(default=60, ge=1)
    sliding_window_s: int = Field(default=300, ge=1)
    sliding_step_s: int = Field(default=60, ge=1)
    watermark_delay_s: int = Field(default=10, ge=0)
    allowed_lateness_s: int = Field(default=60, ge=0)
    max_amount: float = Field(default=10_000.0, gt=0)
    max_poll_records: int = Field(default=500, ge=1, le=100_000)
    max_pending_batches: int = Field(default=4, ge=1, le=1000)
    rate_limit: float = Field(default=0.0, ge=0)
    host: str = "127.0.0.1"
    port: int = Field(default=8010, ge=1, le=65535)
    metrics_port: int = Field(default=0, ge=0, le=65535)

    @model_validator(mode="after")
    def _windows_fit(self) -> FeatstreamSettings:
        if self.sliding_window_s % self.sliding_step_s:
            raise ValueError(
                f"sliding_step_s ({self.sliding_step_s}) must divide "
                f"sliding_window_s ({self.sliding_window_s})"
            )
        return self
