"""The alert sink: a JSON-lines log, and a webhook over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from airflowml.alerts import emit, read_alerts
from airflowml.config import AirflowmlSettings


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A real HTTP server on loopback that records the JSON bodies POSTed to it."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_alerts_go_to_the_log_and_the_webhook(
    tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    settings = AirflowmlSettings(home=tmp_path, alert_webhook=url)
    record = emit({"kind": "task_failed", "task_id": "validate"}, settings)
    assert read_alerts(settings.alert_log) == [record]
    assert received == [record]
    assert record["at"].endswith("+00:00")


def test_a_dead_webhook_loses_no_alert(tmp_path: Path) -> None:
    settings = AirflowmlSettings(home=tmp_path, alert_webhook="http://127.0.0.1:9/nothing-here")
    emit({"kind": "task_failed", "task_id": "a"}, settings)
    emit({"kind": "task_failed", "task_id": "b"}, settings)
    assert [a["task_id"] for a in read_alerts(settings.alert_log)] == ["a", "b"]


def test_no_log_means_no_alerts(tmp_path: Path) -> None:
    assert read_alerts(tmp_path / "none.jsonl") == []
