"""``featstream demo``: broker → producer → processor → sink → API, then a summary.

1. Start a Tansu broker (unless one is configured) and create the topics.
2. Start the processor in a background thread and wait for its partitions.
3. Produce N events at a fixed rate with 5% duplicates, 5% late and 1% malformed.
4. Wait until the sink has caught up with the log end, stop the processor.
5. Replay the topic from offset 0 into a fresh sink and check it matches the live one.
6. Serve the sink over HTTP and fetch the busiest user's features.
7. Print the summary.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aiinfra_shared.services import http_process
from featstream import kafka_io
from featstream.config import FeatstreamSettings
from featstream.errors import FeatstreamError
from featstream.events import EventGenerator
from featstream.processor import Processor, RunReport
from featstream.producer import produce
from featstream.report import diff_sinks, summary_table
from featstream.sink import open_sink


@contextmanager
def broker(settings: FeatstreamSettings, console: Console) -> Iterator[FeatstreamSettings]:
    """Use the configured broker, the one ``aiinfra run`` started, or start Tansu."""
    if "FEATSTREAM_BOOTSTRAP_SERVERS" in os.environ:
        yield settings
        return
    if os.environ.get("AIINFRA_KAFKA_BOOTSTRAP"):
        yield settings.model_copy(
            update={"bootstrap_servers": os.environ["AIINFRA_KAFKA_BOOTSTRAP"]}
        )
        return
    from aiinfra_shared.services.kafka import kafka

    with console.status("Starting the Tansu broker ..."), kafka() as service:
        console.print(f"Tansu broker on [bold]{service.url}[/]")
        yield settings.model_copy(update={"bootstrap_servers": service.url})


def serve_argv(port: int) -> list[str]:
    """The command line of ``featstream serve`` on 127.0.0.1:``port``."""
    return [sys.executable, "-m", "featstream", "serve", "--port", str(port)]


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def run_demo(
    settings: FeatstreamSettings,
    *,
    events: int,
    rate: float,
    workdir: Path,
    console: Console,
    seed: int = 7,
) -> None:
    """Run the whole pipeline once; raise FeatstreamError if any check fails."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    workdir = workdir.resolve()
    live_url = f"sqlite:///{workdir / 'features.db'}"
    replay_url = f"sqlite:///{workdir / 'replay.db'}"
    with broker(settings, console) as s:
        s = s.model_copy(update={"sink_url": live_url})
        kafka_io.ensure_topics(s)
        sink = open_sink(live_url)
        processor = Processor(s, sink)
        stop = threading.Event()
        result: dict[str, RunReport | BaseException] = {}

        def work() -> None:
            try:
                result["report"] = processor.run(stop=stop)
            except BaseException as exc:
                result["error"] = exc

        thread = threading.Thread(target=work, name="featstream-processor")
        thread.start()
        try:
            with console.status("Processor joining its consumer group ..."):
                deadline = time.monotonic() + 60
                while not processor.states and thread.is_alive():
                    if time.monotonic() > deadline:
                        raise FeatstreamError("the processor got no partitions in 60 s")
                    time.sleep(0.1)
            generator = EventGenerator(
                seed=seed, duplicate_rate=0.05, late_rate=0.05, malformed_rate=0.01
            )
            with _progress(console) as bars:
                sent = bars.add_task("produced", total=events)
                done = bars.add_task("in the sink", total=events)
                produced = produce(
                    s, generator, events, rate=rate,
                    on_progress=lambda n: bars.update(sent, completed=n),
                )  # fmt: skip
                ends = kafka_io.end_offsets(s)
                target = sum(ends.values())
                deadline = time.monotonic() + 120
                while thread.is_alive():
                    committed = sum(sink.offsets(s.topic).values())
                    bars.update(done, completed=min(committed, events))
                    if committed >= target:
                        break
                    if time.monotonic() > deadline:
                        raise FeatstreamError("the processor did not catch up in 120 s")
                    time.sleep(0.1)
        finally:
            stop.set()
            thread.join()
        if "error" in result:
            raise FeatstreamError(f"processor failed: {result['error']}")
        report = result["report"]
        assert isinstance(report, RunReport)

        with console.status("Replaying the topic from offset 0 into a fresh sink ..."):
            replay_sink = open_sink(replay_url)
            Processor(s, replay_sink).run(replay=True)
            differences = diff_sinks(sink, replay_sink, s.topic)
        if differences:
            raise FeatstreamError("replay differs from the live run: " + "; ".join(differences))
        console.print("[green]Replay from offset 0 gives exactly the live features.[/]")

        busiest = max(sink.all_entities().values(), key=lambda e: e.events).entity_id
        env = {
            "FEATSTREAM_SINK_URL": live_url,
            "FEATSTREAM_BOOTSTRAP_SERVERS": s.bootstrap_servers,
            "FEATSTREAM_TOPIC": s.topic,
        }
        with (
            console.status("Starting the feature API ..."),
            http_process("featstream-api", serve_argv, env=env, workdir=workdir) as api,
        ):
            response = httpx.get(f"{api.url}/v1/features/{busiest}", params={"windows": 1})
            response.raise_for_status()
        console.print(f"GET {api.url}/v1/features/{busiest}")
        console.print_json(json.dumps(response.json()))
        console.print(summary_table(produced, report, sink, s.topic))
        console.print(f"Sink: {workdir / 'features.db'} (open it with sqlite3)")
        replay_sink.close()
        sink.close()
