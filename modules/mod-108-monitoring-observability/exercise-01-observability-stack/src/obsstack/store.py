"""The stack's store: an OTLP/HTTP receiver for traces and logs, and the alert webhook inbox.

Grafana Loki, Jaeger and Tempo cannot run on this machine, so this process stands in for them
(named in the README): the OTLP collector forwards what the services send here, spans and log
records land in SQLite (log lines in a trigram full-text index), and an HTTP API answers
LogQL-style log queries (:mod:`obsstack.logql`), traces by id (with the logs written inside
them), and what each Alertmanager receiver was sent.

Routes:
    ``POST /v1/traces``, ``POST /v1/logs``, ``POST /v1/metrics``  OTLP/HTTP (protobuf or JSON)
    ``POST /webhooks/{receiver}``                               Alertmanager webhook (v4)
    ``GET /api/logs?query=...``, ``GET /api/traces``, ``GET /api/traces/{trace_id}``,
    ``GET /api/notifications``, ``GET /healthz``, ``GET /metrics``
"""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
import threading
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from prometheus_client import Counter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from aiinfra_shared.alertmanager import AlertmanagerWebhook, WebhookEnvelope
from aiinfra_shared.apidocs import document_framework_errors
from aiinfra_shared.httpapi import safe_validation_errors
from aiinfra_shared.metrics import instrument_app, new_registry
from obsstack.logql import LogQueryError, parse
from obsstack.routing import RECEIVERS

MAX_BODY = 8 * 1024 * 1024
SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_id TEXT NOT NULL, service TEXT NOT NULL,
    name TEXT NOT NULL, kind TEXT NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
    status TEXT NOT NULL, attributes TEXT NOT NULL, PRIMARY KEY (trace_id, span_id));
CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ns);
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY, ts_ns INTEGER NOT NULL, service TEXT NOT NULL, level TEXT NOT NULL,
    logger TEXT NOT NULL, body TEXT NOT NULL, trace_id TEXT NOT NULL, span_id TEXT NOT NULL,
    attributes TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS logs_trace ON logs (trace_id);
CREATE INDEX IF NOT EXISTS logs_service_ts ON logs (service, ts_ns);
CREATE VIRTUAL TABLE IF NOT EXISTS logs_fts USING fts5(
    body, content='logs', content_rowid='id', tokenize='trigram case_sensitive 1');
CREATE TRIGGER IF NOT EXISTS logs_ai AFTER INSERT ON logs BEGIN
    INSERT INTO logs_fts (rowid, body) VALUES (new.id, new.body); END;
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY, received_at REAL NOT NULL, receiver TEXT NOT NULL,
    group_key TEXT NOT NULL, status TEXT NOT NULL, alertname TEXT NOT NULL,
    fingerprint TEXT NOT NULL, labels TEXT NOT NULL, annotations TEXT NOT NULL,
    starts_at TEXT NOT NULL, ends_at TEXT NOT NULL);
"""
SPAN_KINDS = {
    0: "unspecified",
    1: "internal",
    2: "server",
    3: "client",
    4: "producer",
    5: "consumer",
}
STATUS = {0: "unset", 1: "ok", 2: "error"}


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _regexp(pattern: str, value: str | None) -> bool:
    return value is not None and _regex(pattern).search(value) is not None


def _value(any_value: Any) -> Any:
    """The Python value of an OTLP ``AnyValue``."""
    which = any_value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in any_value.kvlist_value.values}
    if which == "bytes_value":
        return any_value.bytes_value.hex()
    return getattr(any_value, which)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs}


class Store:
    """The SQLite database behind the API (one connection, one lock: writes are short)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.create_function("regexp", 2, _regexp, deterministic=True)
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def add_traces(self, request: ExportTraceServiceRequest) -> int:
        """Store every span of an OTLP export; returns how many (a re-sent span replaces)."""
        rows = []
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            service = str(resource.get("service.name", "unknown"))
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    rows.append(
                        (
                            span.trace_id.hex(),
                            span.span_id.hex(),
                            span.parent_span_id.hex(),
                            service,
                            span.name,
                            SPAN_KINDS.get(span.kind, "unspecified"),
                            span.start_time_unix_nano,
                            span.end_time_unix_nano,
                            STATUS.get(span.status.code, "unset"),
                            json.dumps(_attributes(span.attributes), default=str),
                        )
                    )
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO spans VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
            self._db.execute("COMMIT")
        return len(rows)

    def add_logs(self, request: ExportLogsServiceRequest) -> int:
        """Store every log record of an OTLP export; returns how many."""
        rows = []
        for resource_logs in request.resource_logs:
            resource = _attributes(resource_logs.resource.attributes)
            service = str(resource.get("service.name", "unknown"))
            for scope in resource_logs.scope_logs:
                for record in scope.log_records:
                    attributes = _attributes(record.attributes)
                    body = _value(record.body)
                    rows.append(
                        (
                            record.time_unix_nano or record.observed_time_unix_nano,
                            service,
                            record.severity_text or "UNSET",
                            str(attributes.pop("code.namespace", scope.scope.name or "")),
                            body if isinstance(body, str) else json.dumps(body, default=str),
                            record.trace_id.hex(),
                            record.span_id.hex(),
                            json.dumps(attributes, default=str),
                        )
                    )
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO logs (ts_ns, service, level, logger, body, trace_id, span_id, "
                "attributes) VALUES (?,?,?,?,?,?,?,?)",
                rows,
            )
            self._db.execute("COMMIT")
        return len(rows)

    def add_notification(self, receiver: str, payload: AlertmanagerWebhook) -> int:
        """Record one webhook call (one row per alert in it); returns the alert count."""
        now = time.time()
        rows = [
            (
                now,
                receiver,
                payload.groupKey,
                alert.status,
                alert.labels["alertname"],
                alert.identity(),
                json.dumps(alert.labels, sort_keys=True),
                json.dumps(alert.annotations),
                alert.startsAt.isoformat(),
                alert.endsAt.isoformat() if alert.endsAt else "",
            )
            for alert in payload.alerts
        ]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO notifications (received_at, receiver, group_key, status, alertname, "
                "fingerprint, labels, annotations, starts_at, ends_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            self._db.execute("COMMIT")
        return len(rows)

    def _rows(self, sql: str, params: list[Any] | tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute(sql, params)
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def logs(self, query: str, *, limit: int = 100, since_ns: int = 0) -> list[dict[str, Any]]:
        """Log records matching a LogQL query, newest first.

        Raises:
            LogQueryError: The query does not parse.
        """
        where, params = parse(query).to_sql()
        # `where` is built by the LogQL translator from fixed SQL; the values are parameters
        columns = "ts_ns, service, level, logger, body, trace_id, span_id, attributes"
        sql = f"SELECT {columns} FROM logs WHERE ts_ns >= ? AND {where} ORDER BY ts_ns DESC LIMIT ?"  # noqa: S608
        rows = self._rows(sql, [since_ns, *params, limit])
        for row in rows:
            row["attributes"] = json.loads(row["attributes"])
        return rows

    def trace(self, trace_id: str) -> dict[str, Any]:
        """A trace's spans (start order) and the logs written inside it."""
        spans = self._rows(
            "SELECT * FROM spans WHERE trace_id = ? ORDER BY start_ns, span_id", (trace_id,)
        )
        for span in spans:
            span["attributes"] = json.loads(span["attributes"])
            span["duration_ms"] = (span["end_ns"] - span["start_ns"]) / 1e6
        logs = self._rows(
            "SELECT ts_ns, service, level, body, span_id FROM logs WHERE trace_id = ? "
            "ORDER BY ts_ns, id",
            (trace_id,),
        )
        return {"trace_id": trace_id, "spans": spans, "logs": logs}

    def traces(self, *, service: str | None, limit: int) -> list[dict[str, Any]]:
        """The latest traces: root span name, service, duration, span and error counts."""
        return self._rows(
            "SELECT trace_id, min(start_ns) AS start_ns, "
            "(max(end_ns) - min(start_ns)) / 1e6 AS duration_ms, count(*) AS spans, "
            "sum(status = 'error') AS errors, "
            "max(CASE WHEN parent_id = '' THEN name END) AS root, "
            "max(CASE WHEN parent_id = '' THEN service END) AS service "
            "FROM spans GROUP BY trace_id HAVING (? IS NULL OR service = ?) "
            "ORDER BY start_ns DESC LIMIT ?",
            (service, service, limit),
        )

    def notifications(
        self, *, receiver: str | None, alertname: str | None, status: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Alert notifications received, oldest first."""
        rows = self._rows(
            "SELECT received_at, receiver, group_key, status, alertname, fingerprint, labels, "
            "annotations, starts_at, ends_at FROM notifications WHERE (? IS NULL OR receiver = ?) "
            "AND (? IS NULL OR alertname = ?) AND (? IS NULL OR status = ?) ORDER BY id LIMIT ?",
            (receiver, receiver, alertname, alertname, status, status, limit),
        )
        for row in rows:
            row["labels"] = json.loads(row["labels"])
            row["annotations"] = json.loads(row["annotations"])
        return rows

    def counts(self) -> dict[str, int]:
        """How many spans, logs and notifications are stored."""
        out = {}
        for table in ("spans", "logs", "notifications"):
            out[table] = self._rows(f"SELECT count(*) AS n FROM {table}", ())[0]["n"]  # noqa: S608
        return out


class Accepted(BaseModel):
    """How many items a call stored."""

    accepted: int


def _decode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        try:
            return gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as exc:
            raise HTTPException(400, f"body is not valid gzip: {exc}") from None
    if encoding not in ("", "identity"):
        raise HTTPException(415, f"unsupported Content-Encoding {encoding!r} (gzip or none)")
    return body


OTLP_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}
OTLP_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/x-protobuf": {}}, "description": "Stored (OTLP response)."},
    400: {"description": "Not a valid OTLP export (the reason is in `detail`)."},
    413: {"description": "Body over 8 MiB."},
    415: {"description": "Neither protobuf nor JSON, or an unsupported Content-Encoding."},
}


def create_app(db_path: Path | str) -> FastAPI:
    """The store's API over the database at ``db_path``."""
    store = Store(db_path)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="obsstack store",
        version="0.1.0",
        description="OTLP traces and logs, LogQL-style queries, the Alertmanager webhook inbox.",
        lifespan=lifespan,
    )
    app.state.store = store
    registry = new_registry()
    received = Counter(
        "obsstack_store_received_total", "Items stored, by kind.", ("kind",), registry=registry
    )
    rejected = Counter(
        "obsstack_store_rejected_total", "Calls refused, by kind.", ("kind",), registry=registry
    )

    async def read_export(request: Request, message: Any, kind: str) -> Any:
        body = await request.body()
        if len(body) > MAX_BODY:
            rejected.labels(kind).inc()
            raise HTTPException(413, "body over 8 MiB")
        body = _decode(body, request.headers.get("content-encoding", "").lower())
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if ctype == "application/x-protobuf":
                message.ParseFromString(body)
            elif ctype == "application/json":
                document = json.loads(body.decode("utf-8"))
                if not isinstance(document, dict):
                    raise ValueError("the JSON body must be an object")
                # OTLP/JSON receivers MUST ignore unknown fields (the OTLP specification)
                ParseDict(document, message, ignore_unknown_fields=True)
            else:
                raise HTTPException(415, "send application/x-protobuf or application/json")
        except (DecodeError, ParseError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            rejected.labels(kind).inc()
            raise HTTPException(400, f"not an OTLP {kind} export: {exc}"[:300]) from None
        return message

    def answer(response: Any, request: Request) -> Response:
        if request.headers.get("content-type", "").startswith("application/json"):
            return Response(json.dumps(MessageToDict(response)), media_type="application/json")
        return Response(response.SerializeToString(), media_type="application/x-protobuf")

    @app.post("/v1/traces", openapi_extra=OTLP_BODY, responses=OTLP_RESPONSES)
    async def otlp_traces(request: Request) -> Response:
        """OTLP/HTTP trace export."""
        export = await read_export(request, ExportTraceServiceRequest(), "traces")
        received.labels("spans").inc(await run_in_threadpool(store.add_traces, export))
        return answer(ExportTraceServiceResponse(), request)

    @app.post("/v1/logs", openapi_extra=OTLP_BODY, responses=OTLP_RESPONSES)
    async def otlp_logs(request: Request) -> Response:
        """OTLP/HTTP log export."""
        export = await read_export(request, ExportLogsServiceRequest(), "logs")
        received.labels("logs").inc(await run_in_threadpool(store.add_logs, export))
        return answer(ExportLogsServiceResponse(), request)

    @app.post("/v1/metrics", openapi_extra=OTLP_BODY, responses=OTLP_RESPONSES)
    async def otlp_metrics(request: Request) -> Response:
        """OTLP/HTTP metric export: accepted and dropped (Prometheus holds the metrics)."""
        await read_export(request, ExportMetricsServiceRequest(), "metrics")
        return answer(ExportMetricsServiceResponse(), request)

    @app.post(
        "/webhooks/{receiver}",
        response_model=Accepted,
        responses={
            422: {
                "description": "The envelope is invalid (nothing stored), or some "
                "alerts are: the valid ones are stored (`accepted`), the others listed "
                "in `detail`."
            }
        },
    )
    def webhook(
        receiver: Literal["default", "pager", "ml-team", "platform"],
        envelope: WebhookEnvelope,
    ) -> Any:
        """Alertmanager webhook: every valid alert in the payload is recorded for that receiver."""
        assert receiver in RECEIVERS
        payload, errors = envelope.split()
        count = store.add_notification(receiver, payload) if payload is not None else 0
        received.labels("alerts").inc(count)
        if errors:
            rejected.labels("alerts").inc(len({e["loc"][2] for e in errors}))
            return JSONResponse(status_code=422, content={"detail": errors, "accepted": count})
        return Accepted(accepted=count)

    @app.get("/api/logs", responses={400: {"description": "The query does not parse."}})
    def logs(
        query: str = Query(min_length=1, max_length=4000, description="LogQL-style log query"),
        limit: int = Query(100, ge=1, le=5000),
        since_ns: int = Query(0, ge=0, le=2**63 - 1),
    ) -> list[dict[str, Any]]:
        """Log records matching a LogQL-style query, newest first."""
        try:
            return store.logs(query, limit=limit, since_ns=since_ns)
        except LogQueryError as exc:
            raise HTTPException(400, str(exc)) from None

    @app.get("/api/traces")
    def traces(
        service: str | None = Query(None, max_length=200),
        limit: int = Query(20, ge=1, le=1000),
    ) -> list[dict[str, Any]]:
        """The latest traces, newest first."""
        return store.traces(service=service, limit=limit)

    @app.get("/api/traces/{trace_id}", responses={404: {"description": "No such trace."}})
    def trace(trace_id: str) -> dict[str, Any]:
        """One trace: its spans and its logs."""
        found = store.trace(trace_id.lower())
        if not found["spans"] and not found["logs"]:
            raise HTTPException(404, f"no trace {trace_id!r}")
        return found

    @app.get("/api/notifications")
    def notifications(
        receiver: str | None = Query(None, max_length=200),
        alertname: str | None = Query(None, max_length=200),
        status: Literal["firing", "resolved"] | None = None,
        limit: int = Query(1000, ge=1, le=10_000),
    ) -> list[dict[str, Any]]:
        """What the Alertmanager receivers were sent, oldest first."""
        return store.notifications(
            receiver=receiver, alertname=alertname, status=status, limit=limit
        )

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Liveness, with the stored counts."""
        return {"status": "ok", **store.counts()}

    safe_validation_errors(app)
    document_framework_errors(app)
    instrument_app(app, prefix="obsstack_store", registry=registry)
    return app
