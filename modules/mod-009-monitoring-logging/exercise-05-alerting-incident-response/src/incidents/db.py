"""The incident database: SQLite (one connection, one lock, WAL), schema created on open."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
PRAGMA journal_mode=WAL;
PRAGMA foreign_keys=ON;
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, service TEXT NOT NULL, team TEXT NOT NULL,
    severity INTEGER NOT NULL, state TEXT NOT NULL, created_at TEXT NOT NULL,
    acknowledged_at TEXT, mitigated_at TEXT, resolved_at TEXT, acknowledged_by TEXT,
    policy TEXT, escalation_level INTEGER NOT NULL DEFAULT -1, last_activity_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS incidents_open ON incidents (state, service);
CREATE TABLE IF NOT EXISTS alerts (
    fingerprint TEXT PRIMARY KEY, alertname TEXT NOT NULL, service TEXT NOT NULL,
    labels TEXT NOT NULL, annotations TEXT NOT NULL, status TEXT NOT NULL,
    starts_at TEXT NOT NULL, ends_at TEXT, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
    repeats INTEGER NOT NULL DEFAULT 0, incident_id INTEGER REFERENCES incidents(id));
CREATE INDEX IF NOT EXISTS alerts_incident ON alerts (incident_id);
CREATE TABLE IF NOT EXISTS timeline (
    id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL REFERENCES incidents(id),
    at TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, text TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS timeline_incident ON timeline (incident_id, id);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    incident_id INTEGER, detail TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL REFERENCES incidents(id),
    created_at TEXT NOT NULL, user TEXT NOT NULL, channel TEXT NOT NULL, target TEXT NOT NULL,
    reason TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '', sent_at TEXT);
CREATE INDEX IF NOT EXISTS notifications_status ON notifications (status, id);
CREATE TABLE IF NOT EXISTS action_items (
    id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL REFERENCES incidents(id),
    owner TEXT NOT NULL, text TEXT NOT NULL, priority TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_log (
    id INTEGER PRIMARY KEY, received_at TEXT NOT NULL, receiver TEXT NOT NULL,
    alerts INTEGER NOT NULL, group_key TEXT NOT NULL);
"""


class Database:
    """A thin wrapper: ``tx()`` for a write transaction, ``rows()`` for reads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(SCHEMA)
        self.lock = threading.RLock()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``), rolled back on any error."""
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[dict[str, Any]]:
        """Query rows as dicts (JSON columns ``labels``, ``annotations``, ``data``, ``detail``
        decoded)."""
        with self.lock:
            fetched = self._db.execute(sql, params).fetchall()
        out = []
        for row in fetched:
            item = dict(row)
            for key in ("labels", "annotations", "data", "detail"):
                if isinstance(item.get(key), str):
                    item[key] = json.loads(item[key])
            out.append(item)
        return out

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self._db.close()
