"""The ``featstream`` command: produce, process, replay, serve, demo."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from
from featstream.config import FeatstreamSettings
from featstream.errors import FeatstreamError

app = package_app("105-03: real-time user features from a Kafka-protocol broker.")

Bootstrap = Annotated[
    str | None,
    typer.Option(
        "--bootstrap", help="Kafka bootstrap servers (default $FEATSTREAM_BOOTSTRAP_SERVERS)."
    ),
]
SinkUrl = Annotated[
    str | None,
    typer.Option(
        "--sink-url", help="sqlite:///path.db or postgresql://... (default $FEATSTREAM_SINK_URL)."
    ),
]
Topic = Annotated[str | None, typer.Option("--topic", help="Events topic.")]


def _settings(**overrides: Any) -> FeatstreamSettings:
    return settings_from(FeatstreamSettings, FeatstreamError, **overrides)


@app.command()
def schema() -> None:
    """Print the event contract (schema version and fields)."""
    from featstream.events import EVENT_SCHEMA

    console.print_json(json.dumps(EVENT_SCHEMA))


@app.command()
def topics(bootstrap: Bootstrap = None, topic: Topic = None) -> None:
    """Create the events and DLQ topics (no-op when they exist)."""
    from featstream import kafka_io

    settings = _settings(bootstrap_servers=bootstrap, topic=topic)
    kafka_io.ensure_topics(settings)
    console.print(f"topics ready: {settings.topic}, {settings.dlq_topic}")


@app.command(name="produce")
def produce_cmd(
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="Events to send.")] = 5000,
    rate: Annotated[float, typer.Option(min=0, help="Events/s (0 = as fast as possible).")] = 0,
    duplicates: Annotated[float, typer.Option(min=0, max=0.5, help="Duplicate share.")] = 0.0,
    late: Annotated[float, typer.Option(min=0, max=0.5, help="Late (out-of-order) share.")] = 0.0,
    malformed: Annotated[float, typer.Option(min=0, max=0.5, help="Malformed share.")] = 0.0,
    users: Annotated[int, typer.Option(min=1, help="Distinct users.")] = 200,
    seed: Annotated[int, typer.Option(help="Same seed, same events.")] = 7,
    bootstrap: Bootstrap = None,
    topic: Topic = None,
) -> None:
    """Generate user events and produce them, keyed by user, with an idempotent producer."""
    from featstream import kafka_io
    from featstream.events import EventGenerator
    from featstream.producer import produce

    settings = _settings(bootstrap_servers=bootstrap, topic=topic)
    try:
        generator = EventGenerator(
            seed=seed, users=users, duplicate_rate=duplicates, late_rate=late,
            malformed_rate=malformed,
        )  # fmt: skip
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    kafka_io.ensure_topics(settings)
    with Progress(
        TextColumn("produce"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    ) as bars:  # fmt: skip
        task = bars.add_task("produce", total=count)
        report = produce(
            settings,
            generator,
            count,
            rate=rate,
            on_progress=lambda n: bars.update(task, completed=n),
        )
    kinds = ", ".join(f"{k}={v}" for k, v in sorted(report.kinds.items()))
    console.print(
        f"sent {report.total} events to {settings.topic} in {report.elapsed_s:.1f} s ({kinds})"
    )


@app.command()
def process(
    bootstrap: Bootstrap = None,
    sink_url: SinkUrl = None,
    topic: Topic = None,
    idle_timeout: Annotated[
        float | None, typer.Option(help="Exit after this many seconds without records.")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve the processor's /metrics on this port.")
    ] = None,
    rate_limit: Annotated[float | None, typer.Option(help="Max events/s (0 = unlimited).")] = None,
    max_poll_records: Annotated[int | None, typer.Option(help="Records per batch.")] = None,
) -> None:
    """Run the stream processor (a consumer-group member) until Ctrl+C / SIGTERM / idle."""
    from featstream.processor import Processor
    from featstream.sink import open_sink

    settings = _settings(
        bootstrap_servers=bootstrap, sink_url=sink_url, topic=topic, metrics_port=metrics_port,
        rate_limit=rate_limit, max_poll_records=max_poll_records,
    )  # fmt: skip
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sink = open_sink(settings.sink_url)
    processor = Processor(settings, sink)
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port, addr=settings.host, registry=processor.registry)
        console.print(
            f"processor metrics on http://{settings.host}:{settings.metrics_port}/metrics"
        )
    try:
        report = processor.run(idle_timeout_s=idle_timeout, stop=stop)
    finally:
        sink.close()
    outcomes = ", ".join(f"{k}={v}" for k, v in sorted(report.outcomes.items()))
    console.print(f"processed {report.records} records in {report.elapsed_s:.1f} s ({outcomes})")


@app.command()
def replay(
    sink_url: Annotated[str, typer.Option("--sink-url", help="A FRESH sink to backfill into.")],
    bootstrap: Bootstrap = None,
    topic: Topic = None,
) -> None:
    """Backfill: recompute features from offset 0 (no consumer group) into a fresh sink."""
    from featstream.processor import Processor
    from featstream.sink import open_sink

    settings = _settings(bootstrap_servers=bootstrap, sink_url=sink_url, topic=topic)
    sink = open_sink(settings.sink_url)
    try:
        if sink.offsets(settings.topic):
            raise FeatstreamError(
                f"{settings.sink_url} already holds offsets for {settings.topic}: replay needs a "
                "fresh sink (a partial one would resume, not recompute)"
            )
        report = Processor(settings, sink).run(replay=True)
    finally:
        sink.close()
    console.print(f"replayed {report.records} records into {settings.sink_url}")


@app.command()
def compare(
    left: Annotated[str, typer.Argument(help="Sink URL.")],
    right: Annotated[str, typer.Argument(help="Sink URL.")],
    topic: Topic = None,
) -> None:
    """Check two sinks hold the same features (e.g. a live run and a replay); exit 1 if not."""
    from featstream.report import diff_sinks
    from featstream.sink import open_sink

    settings = _settings(topic=topic)
    a = open_sink(left, must_exist=True)
    try:
        b = open_sink(right, must_exist=True)
    except Exception:
        a.close()
        raise
    try:
        problems = diff_sinks(a, b, settings.topic)
    finally:
        a.close()
        b.close()
    if problems:
        for line in problems:
            console.print(f"[red]≠[/] {line}")
        raise typer.Exit(1)
    console.print("[green]identical features[/]")


@app.command()
def serve(
    sink_url: SinkUrl = None,
    bootstrap: Bootstrap = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8010).")] = None,
) -> None:
    """Serve online features over HTTP (GET /v1/features/{entity_id}, /metrics)."""
    import uvicorn

    from featstream.serving import create_app

    settings = _settings(sink_url=sink_url, bootstrap_servers=bootstrap, host=host, port=port)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


@app.command()
def demo(
    events: Annotated[int, typer.Option(min=100, help="Events to produce.")] = 5000,
    rate: Annotated[float, typer.Option(min=0, help="Produce rate, events/s.")] = 1500,
    workdir: Annotated[Path, typer.Option(help="Where the sinks go.")] = Path(
        "artifacts/featstream-demo"
    ),
) -> None:
    """Start a broker, produce with duplicates/late/malformed events, process, serve, report."""
    from featstream.demo import run_demo

    run_demo(_settings(), events=events, rate=rate, workdir=workdir, console=console)


main = run_typer(app)
