"""The feature sink: SQLite (default) or PostgreSQL, with offsets in the same transaction.

Exactly-once *effect*: a batch's feature rows, window rows, dedup ids, dead letters,
counters and the partition's next offset are written in ONE transaction. A processor that
dies at any point leaves the sink at the end of some whole batch, and on restart it seeks
every partition to the offset stored here, so nothing is lost and nothing applied twice.
Kafka's own committed offsets are written afterwards for monitoring only.

The SQL is portable (``INSERT ... ON CONFLICT ... DO UPDATE``): only the driver and the
parameter style differ between the two databases.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from featstream.errors import SinkError
from featstream.state import OUTCOMES, Delta, EntityFeatures, WindowAggregate

SCHEMA_VERSION = 1

_DDL = (
    """CREATE TABLE IF NOT EXISTS featstream_meta (
        key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS partition_offsets (
        topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset BIGINT NOT NULL,
        max_event_ms BIGINT, applied BIGINT NOT NULL DEFAULT 0,
        late_applied BIGINT NOT NULL DEFAULT 0, duplicate BIGINT NOT NULL DEFAULT 0,
        late_dropped BIGINT NOT NULL DEFAULT 0, invalid BIGINT NOT NULL DEFAULT 0,
        updated_ms BIGINT NOT NULL, PRIMARY KEY (topic, partition))""",
    """CREATE TABLE IF NOT EXISTS entity_features (
        entity_id TEXT PRIMARY KEY, partition INTEGER NOT NULL, events BIGINT NOT NULL,
        views BIGINT NOT NULL, clicks BIGINT NOT NULL, add_to_carts BIGINT NOT NULL,
        purchases BIGINT NOT NULL, amount_cents BIGINT NOT NULL, items TEXT NOT NULL,
        first_event_ms BIGINT NOT NULL, last_event_ms BIGINT NOT NULL,
        last_ingest_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS window_features (
        entity_id TEXT NOT NULL, kind TEXT NOT NULL, start_ms BIGINT NOT NULL,
        end_ms BIGINT NOT NULL, partition INTEGER NOT NULL, events BIGINT NOT NULL,
        purchases BIGINT NOT NULL, amount_cents BIGINT NOT NULL, items TEXT NOT NULL,
        closed INTEGER NOT NULL, PRIMARY KEY (entity_id, kind, start_ms))""",
    "CREATE INDEX IF NOT EXISTS window_open ON window_features (partition, closed)",
    """CREATE TABLE IF NOT EXISTS seen_events (
        event_id TEXT PRIMARY KEY, partition INTEGER NOT NULL, event_time BIGINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS seen_by_partition ON seen_events (partition, event_time)",
    """CREATE TABLE IF NOT EXISTS dead_letters (
        topic TEXT NOT NULL, partition INTEGER NOT NULL, record_offset BIGINT NOT NULL,
        reason TEXT NOT NULL, detail TEXT NOT NULL, record_key TEXT, record_value TEXT,
        PRIMARY KEY (topic, partition, record_offset))""",
)

_ENTITY_COLUMNS = (
    "entity_id", "partition", "events", "views", "clicks", "add_to_carts", "purchases",
    "amount_cents", "items", "first_event_ms", "last_event_ms", "last_ingest_ms", "updated_ms",
)  # fmt: skip
_WINDOW_COLUMNS = (
    "entity_id", "kind", "start_ms", "end_ms", "partition", "events", "purchases",
    "amount_cents", "items", "closed",
)  # fmt: skip


def _upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


_UPSERT_ENTITY = _upsert("entity_features", _ENTITY_COLUMNS, ("entity_id",))
_UPSERT_WINDOW = _upsert("window_features", _WINDOW_COLUMNS, ("entity_id", "kind", "start_ms"))
_UPSERT_OFFSET = _upsert(
    "partition_offsets",
    ("topic", "partition", "next_offset", "max_event_ms", *OUTCOMES, "updated_ms"),
    ("topic", "partition"),
)


def _items_json(items: set[str]) -> str:
    """The item set as a sorted JSON array (orjson: 5x json's speed on the writer's hot path,
    one call per written row)."""
    return orjson.dumps(sorted(items)).decode()


def merge_deltas(deltas: Iterable[Delta]) -> list[Delta]:
    """Merge deltas per partition, later ones winning; the result writes the same state."""
    merged: dict[int, Delta] = {}
    for d in deltas:
        m = merged.get(d.partition)
        if m is None:
            merged[d.partition] = Delta(
                d.partition, d.next_offset, d.max_event_ms, list(d.entities), list(d.windows),
                list(d.seen), d.forget_seen_before, list(d.dead_letters), d.counters,
                list(d.ingest_ms),
            )  # fmt: skip
            continue
        if m.next_offset > d.next_offset:
            raise ValueError(f"partition {d.partition}: deltas out of order")
        m.next_offset, m.max_event_ms, m.counters = d.next_offset, d.max_event_ms, d.counters
        m.entities.extend(d.entities)
        m.windows.extend(d.windows)
        m.seen.extend(d.seen)
        m.dead_letters.extend(d.dead_letters)
        m.ingest_ms.extend(d.ingest_ms)
        if d.forget_seen_before is not None:
            m.forget_seen_before = d.forget_seen_before
    for m in merged.values():
        m.entities = list({e.entity_id: e for e in m.entities}.values())
        m.windows = list({w.key: w for w in m.windows}.values())
        if m.forget_seen_before is not None:
            horizon = m.forget_seen_before
            m.seen = [(eid, t) for eid, t in m.seen if t >= horizon]
    return list(merged.values())


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class PartitionSnapshot:
    """Everything the processor needs to resume a partition exactly where the sink is."""

    next_offset: int
    max_event_ms: int | None
    counters: dict[str, int]
    entities: dict[str, EntityFeatures]
    windows: dict[tuple[str, str, int], WindowAggregate]
    seen: dict[str, int]


def _entity(row: Sequence[Any]) -> EntityFeatures:
    values = dict(zip(_ENTITY_COLUMNS, row, strict=True))
    values["items"] = set(json.loads(values["items"]))
    return EntityFeatures(**values)


def _window(row: Sequence[Any]) -> WindowAggregate:
    values = dict(zip(_WINDOW_COLUMNS, row, strict=True))
    values["items"] = set(json.loads(values["items"]))
    values["closed"] = bool(values["closed"])
    return WindowAggregate(**values)


class Sink:
    """A SQL feature store; build one with :func:`open_sink`.

    One connection per thread (SQLite connections must not cross threads), created lazily.
    """

    placeholder = "?"

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        with self.transaction() as cur:
            for statement in _DDL:
                cur.execute(statement)
            cur.execute("SELECT value FROM featstream_meta WHERE key = 'schema_version'")
            row = cur.fetchone()
            if row is None:
                cur.execute(
                    self._q("INSERT INTO featstream_meta (key, value) VALUES (?, ?)"),
                    ("schema_version", str(SCHEMA_VERSION)),
                )
            elif int(row[0]) != SCHEMA_VERSION:
                raise SinkError(
                    f"{url} has featstream schema {row[0]}, this version writes "
                    f"{SCHEMA_VERSION}: use a fresh sink"
                )

    # -- driver specifics ------------------------------------------------------------------
    def _connect(self) -> Any:
        raise NotImplementedError

    def _q(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Any]:
        """A cursor inside one transaction: committed on success, rolled back on error.

        Args:
            write: Take the write lock up front (SQLite); reads pass False so the serving
                API never waits for, or blocks, the processor.
        """
        conn = self._conn()
        cur = conn.cursor()
        try:
            self._begin(cur, write=write)
            yield cur
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            cur.close()

    def _begin(self, cur: Any, *, write: bool) -> None:
        """Start a transaction (SQLite needs an explicit write lock up front)."""

    def close(self) -> None:
        """Close every connection this sink opened."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- writes ----------------------------------------------------------------------------
    def commit(self, topic: str, deltas: Iterable[Delta], *, now_ms: int) -> None:
        """Write deltas (any partitions, in processing order) in one transaction.

        Consecutive deltas of a partition are merged first (group commit): a row changed
        by several batches is written once, with its latest value.
        """
        with self.transaction() as cur:
            for d in merge_deltas(deltas):
                self._write(cur, topic, d, now_ms)

    def _write(self, cur: Any, topic: str, d: Delta, now_ms: int) -> None:
        q = self._q
        if d.entities:
            cur.executemany(
                q(_UPSERT_ENTITY),
                [
                    (
                        e.entity_id,
                        e.partition,
                        e.events,
                        e.views,
                        e.clicks,
                        e.add_to_carts,
                        e.purchases,
                        e.amount_cents,
                        _items_json(e.items),
                        e.first_event_ms,
                        e.last_event_ms,
                        e.last_ingest_ms,
                        e.updated_ms,
                    )
                    for e in d.entities
                ],
            )
        if d.windows:
            cur.executemany(
                q(_UPSERT_WINDOW),
                [
                    (
                        w.entity_id,
                        w.kind,
                        w.start_ms,
                        w.end_ms,
                        w.partition,
                        w.events,
                        w.purchases,
                        w.amount_cents,
                        _items_json(w.items),
                        int(w.closed),
                    )
                    for w in d.windows
                ],
            )
        if d.forget_seen_before is not None:
            cur.execute(
                q("DELETE FROM seen_events WHERE partition = ? AND event_time < ?"),
                (d.partition, d.forget_seen_before),
            )
        if d.seen:
            cur.executemany(
                q("INSERT INTO seen_events (event_id, partition, event_time) VALUES (?, ?, ?)"),
                [(eid, d.partition, t) for eid, t in d.seen],
            )
        if d.dead_letters:
            cur.executemany(
                q(
                    "INSERT INTO dead_letters (topic, partition, record_offset, reason, detail, "
                    "record_key, record_value) VALUES (?, ?, ?, ?, ?, ?, ?)"
                ),
                [
                    (topic, x.partition, x.offset, x.reason, x.detail, _text(x.key), _text(x.value))
                    for x in d.dead_letters
                ],
            )
        cur.execute(
            q(_UPSERT_OFFSET),
            (
                topic,
                d.partition,
                d.next_offset,
                d.max_event_ms,
                *(d.counters[name] for name in OUTCOMES),
                now_ms,
            ),
        )

    # -- reads -----------------------------------------------------------------------------
    def load_partition(self, topic: str, partition: int) -> PartitionSnapshot:
        """The state of one partition as of the last committed batch."""
        q = self._q
        with self.transaction(write=False) as cur:
            cur.execute(
                q(
                    "SELECT next_offset, max_event_ms, " + ", ".join(OUTCOMES) + " FROM "
                    "partition_offsets WHERE topic = ? AND partition = ?"
                ),
                (topic, partition),
            )
            row = cur.fetchone()
            if row is None:
                return PartitionSnapshot(0, None, {}, {}, {}, {})
            counters: dict[str, int] = dict(zip(OUTCOMES, (int(v) for v in row[2:]), strict=True))
            cur.execute(
                q(f"SELECT {', '.join(_ENTITY_COLUMNS)} FROM entity_features WHERE partition = ?"),
                (partition,),
            )
            entities = {e.entity_id: e for e in map(_entity, cur.fetchall())}
            cur.execute(
                q(
                    f"SELECT {', '.join(_WINDOW_COLUMNS)} FROM window_features "
                    "WHERE partition = ? AND closed = 0"
                ),
                (partition,),
            )
            windows = {w.key: w for w in map(_window, cur.fetchall())}
            cur.execute(
                q("SELECT event_id, event_time FROM seen_events WHERE partition = ?"),
                (partition,),
            )
            seen = {eid: int(t) for eid, t in cur.fetchall()}
        return PartitionSnapshot(int(row[0]), row[1], counters, entities, windows, seen)

    def offsets_any(self) -> bool:
        """Whether any topic's offsets were ever committed here."""
        with self.transaction(write=False) as cur:
            cur.execute("SELECT COUNT(*) FROM partition_offsets")
            row = cur.fetchone()
            return bool(row and row[0])

    def offsets(self, topic: str) -> dict[int, int]:
        """Next offset to process per partition."""
        with self.transaction(write=False) as cur:
            cur.execute(
                self._q("SELECT partition, next_offset FROM partition_offsets WHERE topic = ?"),
                (topic,),
            )
            return {int(p): int(o) for p, o in cur.fetchall()}

    def partition_stats(self, topic: str) -> list[dict[str, Any]]:
        """Per-partition offsets, watermark and outcome counters."""
        cols = ("partition", "next_offset", "max_event_ms", *OUTCOMES, "updated_ms")
        with self.transaction(write=False) as cur:
            cur.execute(
                self._q(
                    f"SELECT {', '.join(cols)} FROM partition_offsets WHERE topic = ? "
                    "ORDER BY partition"
                ),
                (topic,),
            )
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def entity(self, entity_id: str) -> EntityFeatures | None:
        """All-time features of one entity, or None."""
        with self.transaction(write=False) as cur:
            cur.execute(
                self._q(
                    f"SELECT {', '.join(_ENTITY_COLUMNS)} FROM entity_features WHERE entity_id = ?"
                ),
                (entity_id,),
            )
            row = cur.fetchone()
        return None if row is None else _entity(row)

    def entity_windows(self, entity_id: str, kind: str, limit: int = 5) -> list[WindowAggregate]:
        """The latest ``limit`` windows of one kind for one entity, newest first."""
        with self.transaction(write=False) as cur:
            cur.execute(
                self._q(
                    f"SELECT {', '.join(_WINDOW_COLUMNS)} FROM window_features "
                    "WHERE entity_id = ? AND kind = ? ORDER BY start_ms DESC LIMIT ?"
                ),
                (entity_id, kind, limit),
            )
            return [_window(row) for row in cur.fetchall()]

    def all_entities(self) -> dict[str, EntityFeatures]:
        """Every entity's features (for comparisons and reports)."""
        with self.transaction(write=False) as cur:
            cur.execute(f"SELECT {', '.join(_ENTITY_COLUMNS)} FROM entity_features")
            return {e.entity_id: e for e in map(_entity, cur.fetchall())}

    def all_windows(self) -> dict[tuple[str, str, int], WindowAggregate]:
        """Every window (open and closed)."""
        with self.transaction(write=False) as cur:
            cur.execute(f"SELECT {', '.join(_WINDOW_COLUMNS)} FROM window_features")
            return {w.key: w for w in map(_window, cur.fetchall())}

    def dead_letters(self, topic: str) -> list[dict[str, Any]]:
        """Every dead letter of a topic, in (partition, offset) order."""
        cols = ("partition", "record_offset", "reason", "detail", "record_key", "record_value")
        with self.transaction(write=False) as cur:
            cur.execute(
                self._q(
                    f"SELECT {', '.join(cols)} FROM dead_letters WHERE topic = ? "
                    "ORDER BY partition, record_offset"
                ),
                (topic,),
            )
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


class SqliteSink(Sink):
    """SQLite in WAL mode: readers (the serving API) never block the writer."""

    def __init__(self, url: str, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(url)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise SinkError(f"cannot open {self.path}: {exc}") from exc
        self._wal(conn)
        # NORMAL in WAL mode survives a killed process (the case we test); only an OS crash
        # or power loss can drop the last commits. FULL is the setting for that.
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _wal(self, conn: sqlite3.Connection, attempts: int = 50) -> None:
        """Switch to WAL, retrying "database is locked" for up to 5 s. CI once saw it here when
        two group members opened one new file together (SQLite answers BUSY without waiting
        when waiting could deadlock); WAL mode persists, so the first one through settles it."""
        for attempt in range(attempts):
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise SinkError(f"cannot switch {self.path} to WAL: {exc}") from exc
                time.sleep(0.1)

    def _begin(self, cur: Any, *, write: bool) -> None:
        cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")


class PostgresSink(Sink):
    """PostgreSQL through psycopg 3 (``pip install 'aiinfra-featstream[postgres]'``)."""

    placeholder = "%s"

    def _connect(self) -> Any:
        try:
            import psycopg
        except ImportError as exc:
            raise SinkError(
                "the PostgreSQL sink needs psycopg: uv pip install 'aiinfra-featstream[postgres]'"
            ) from exc
        try:
            return psycopg.connect(self.url)
        except psycopg.Error as exc:
            raise SinkError(f"cannot connect to {self.url}: {exc}") from exc


def open_sink(url: str, *, must_exist: bool = False) -> Sink:
    """Open (and create if needed) the sink at ``url``.

    Args:
        url: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or
            ``postgresql://user@host:port/db``.
        must_exist: Refuse a sink that was never written (reading one, as ``compare`` does,
            must not create it and report it "identical" to another empty one).

    Raises:
        SinkError: Unknown scheme, no such sink (with ``must_exist``), or the database
            cannot be opened.
    """
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if must_exist and not path.is_file():
            raise SinkError(f"no sink at {path}: run `featstream process` into it first")
        return SqliteSink(url, path)
    if url.startswith(("postgresql://", "postgres://")):
        sink = PostgresSink(url)
        if must_exist and not sink.offsets_any():
            sink.close()
            raise SinkError(f"{url} holds no featstream data: run `featstream process` first")
        return sink
    raise SinkError(f"unsupported sink URL {url!r}: use sqlite:///path.db or postgresql://...")
