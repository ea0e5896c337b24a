"""Store throughput: OTLP log ingest over HTTP, and LogQL query latency on what was stored.

    python benchmarks/bench_store.py [--lines 200000] [--clients 8] [--json out.json]

Prints a markdown table. Ingest goes through a real uvicorn (one process, as the stack runs
it); queries go through the HTTP API too. The substring filter (``|=``) uses the trigram index,
the regex filter (``|~``) scans the rows its label matchers selected.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from obsstack.store import create_app
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from aiinfra_shared.testing.asgi import serve_in_thread

WORDS = [
    "predicted",
    "feature",
    "store",
    "timeout",
    "cache",
    "model",
    "batch",
    "request",
    "user",
    "upstream",
    "retry",
]
LEVELS = ["INFO"] * 8 + ["WARNING", "ERROR"]


def export(rng: random.Random, service: str, size: int) -> bytes:
    now = time.time_ns()
    records = [
        LogRecord(
            time_unix_nano=now + i,
            severity_text=rng.choice(LEVELS),
            body=AnyValue(
                string_value=" ".join(rng.choices(WORDS, k=8)) + f" id={rng.randrange(10**9)}"
            ),
            trace_id=rng.randbytes(16),
            span_id=rng.randbytes(8),
        )
        for i in range(size)
    ]
    resource = Resource(
        attributes=[KeyValue(key="service.name", value=AnyValue(string_value=service))]
    )
    request = ExportLogsServiceRequest(
        resource_logs=[ResourceLogs(resource=resource, scope_logs=[ScopeLogs(log_records=records)])]
    )
    return request.SerializeToString()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.lines < args.batch or args.batch < 1 or args.clients < 1:
        parser.error("--lines must be >= --batch >= 1 and --clients >= 1")
    rng = random.Random(0)
    batches = [export(rng, f"svc-{i % 4}", args.batch) for i in range(args.lines // args.batch)]
    rows: list[tuple[str, str]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve_in_thread(create_app(Path(tmp) / "s.db")) as served,
    ):
        url = served.url

        def send(chunk: list[bytes]) -> None:
            with httpx.Client(timeout=60) as client:
                for body in chunk:
                    r = client.post(
                        f"{url}/v1/logs",
                        content=body,
                        headers={"content-type": "application/x-protobuf"},
                    )
                    r.raise_for_status()

        chunks = [batches[i :: args.clients] for i in range(args.clients)]
        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(send, chunks))
        seconds = time.perf_counter() - start
        stored = httpx.get(f"{url}/healthz").json()["logs"]
        rows.append(
            (
                "ingest (OTLP/HTTP protobuf)",
                f"{stored:,} lines in {seconds:.1f} s = {stored / seconds:,.0f} lines/s "
                f"({args.clients} clients, {args.batch}/export)",
            )
        )
        queries = {
            "labels only, newest 100": '{service="svc-1", level="ERROR"}',
            "|= substring (trigram index)": '{service="svc-1"} |= "timeout cache"',
            "|= rare substring": '{service=~"svc-.*"} |= "id=1234"',
            "|~ regex (scan)": '{service="svc-1"} |~ "retry (user|model)"',
        }
        for name, q in queries.items():
            times = []
            for _ in range(5):
                t = time.perf_counter()
                r = httpx.get(f"{url}/api/logs", params={"query": q, "limit": 100}, timeout=60)
                r.raise_for_status()
                times.append(time.perf_counter() - t)
            rows.append(
                (
                    f"query: {name}",
                    f"median {statistics.median(times) * 1000:.1f} ms, {len(r.json())} rows",
                )
            )
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        cell = name.replace("|", "\\|")  # a | inside a markdown cell ends it
        print(f"| {cell} | {value} |")
    if args.json:
        args.json.write_text(json.dumps(dict(rows), indent=2))


if __name__ == "__main__":
    main()
