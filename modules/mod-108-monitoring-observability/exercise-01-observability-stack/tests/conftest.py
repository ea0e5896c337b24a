"""Fixtures: one whole stack per session (time compressed x60), OTLP export builders."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from obsstack.stack import StackUrls, running_stack
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from aiinfra_shared.services.base import ServiceNotInstalledError
from aiinfra_shared.testing.plugin import require_services


@pytest.fixture(scope="session")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StackUrls]:
    """Prometheus, Alertmanager, Pushgateway, node exporter, Rotel, the store and the service."""
    manager = running_stack(tmp_path_factory.mktemp("stack"), scale=60, fast=True)
    try:
        urls = manager.__enter__()
    except ServiceNotInstalledError as exc:
        if require_services(request.config):
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))
    try:
        yield urls
    finally:
        manager.__exit__(None, None, None)


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _log_export(
    lines: list[tuple[str, str]],
    *,
    service: str = "api",
    trace_id: bytes = b"",
    attrs: dict[str, str] | None = None,
) -> ExportLogsServiceRequest:
    """An OTLP log export of ``(level, body)`` lines from ``service``."""
    now = time.time_ns()
    records = [
        LogRecord(
            time_unix_nano=now + i,
            severity_text=level,
            body=AnyValue(string_value=body),
            trace_id=trace_id,
            span_id=b"\x01" * 8 if trace_id else b"",
            attributes=[_kv(k, v) for k, v in (attrs or {}).items()],
        )
        for i, (level, body) in enumerate(lines)
    ]
    return ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                resource=Resource(attributes=[_kv("service.name", service)]),
                scope_logs=[ScopeLogs(log_records=records)],
            )
        ]
    )


def _trace_export(
    trace_id: bytes, *, service: str = "api", error: bool = False
) -> ExportTraceServiceRequest:
    """An OTLP trace export: a root server span and one child."""
    now = time.time_ns()
    root = Span(
        trace_id=trace_id,
        span_id=b"\x01" * 8,
        name="GET /x",
        kind=2,
        start_time_unix_nano=now,
        end_time_unix_nano=now + 5_000_000,
    )
    child = Span(
        trace_id=trace_id,
        span_id=b"\x02" * 8,
        parent_span_id=b"\x01" * 8,
        name="db.query",
        kind=3,
        start_time_unix_nano=now + 1_000_000,
        end_time_unix_nano=now + 3_000_000,
        attributes=[_kv("db.system", "sqlite")],
    )
    if error:
        child.status.code = 2
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=[_kv("service.name", service)]),
                scope_spans=[ScopeSpans(spans=[root, child])],
            )
        ]
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh store database path."""
    return tmp_path / "store.db"


@pytest.fixture(scope="session")
def log_export() -> Any:
    """Builder of OTLP log exports (see ``_log_export``)."""
    return _log_export


@pytest.fixture(scope="session")
def trace_export() -> Any:
    """Builder of OTLP trace exports (see ``_trace_export``)."""
    return _trace_export
