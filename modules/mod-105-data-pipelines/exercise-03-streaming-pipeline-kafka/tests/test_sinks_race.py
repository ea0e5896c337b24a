"""Group members open one new SQLite sink at the same moment: none may fail for it."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from featstream.sink import open_sink


def test_opening_a_sqlite_sink_waits_out_another_writer(tmp_path: Path) -> None:
    """While another connection writes (as a second member creating the schema does), opening
    waits for it and still ends in WAL mode."""
    path = tmp_path / "shared.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE other_member (x)")
    release = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    sink = open_sink(f"sqlite:///{path}")
    try:
        assert time.monotonic() - started >= 0.4  # it waited for the other writer
    finally:
        sink.close()
        release.join()
        holder.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_many_sinks_opening_one_new_sqlite_file_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def opener() -> None:
        start.wait()
        try:
            open_sink(url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
