from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from costlens import report
from costlens.errors import CostlensError
from costlens.notify import Delivery, post_webhook, run_schedule, send_email
from costlens.store import Store

from aiinfra_shared.services.smtp import smtp_sink


@pytest.fixture(scope="module")
def summary(loaded_db: Path) -> report.Summary:
    with Store(loaded_db, read_only=True) as store:
        return report.summarize(store)


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A real HTTP server on loopback that records the JSON bodies posted to it."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204 if self.path == "/ok" else 500)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()


def test_the_dashboard_opens_offline_and_shows_the_findings(
    summary: report.Summary, tmp_path: Path
) -> None:
    html = report.write_dashboard(summary, tmp_path / "d.html").read_text()
    assert '<script src="http' not in html  # plotly.js is inlined, nothing fetched
    assert html.count('class="plotly-graph-div"') == 4  # daily, services, teams, forecast
    assert "Amazon Virtual Private Cloud" in html
    assert "ml-raw-archive" in html
    assert f"{summary.total:,.2f}" in html


def test_the_digest_names_totals_anomalies_forecast_and_savings(summary: report.Summary) -> None:
    text = report.digest_text(summary, recent_days=30)
    assert f"Total effective cost: {summary.total:,.2f} USD" in text
    assert "BigQuery" in text
    assert "Forecast 2026-11" in text
    assert f"saving {summary.saving:,.2f} a month" in text


def test_email_reaches_a_real_smtp_server(summary: report.Summary, tmp_path: Path) -> None:
    page = report.write_dashboard(summary, tmp_path / "d.html")
    with smtp_sink() as box:
        send_email(
            Delivery(smtp=box.address, to=("a@x.io", "b@x.io")),
            "subj",
            report.digest_text(summary),
            page,
        )
        assert box.arrived.wait(10)
    msg = box.messages[0]
    assert msg["Subject"] == "subj"
    assert msg["To"] == "a@x.io, b@x.io"
    assert "Total effective cost" in msg.get_body(("plain",)).get_content()
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "d.html"


def test_webhook_gets_the_json_and_a_failure_is_an_error(
    summary: report.Summary, webhook: Any
) -> None:
    url, received = webhook
    assert post_webhook(url + "/ok", report.digest_payload(summary)) == 204
    assert received[0]["total"] == summary.total
    assert received[0]["text"].startswith("costlens")
    with pytest.raises(CostlensError, match="answered 500"):
        post_webhook(url + "/broken", {"text": "x"})


@pytest.mark.parametrize(
    ("delivery", "message"),
    [
        (Delivery(), "nowhere to send"),
        (Delivery(smtp="localhost"), "host:port"),
        (Delivery(smtp="localhost:25"), "--to"),
        (Delivery(webhook="ftp://x"), "http"),
    ],
)
def test_bad_delivery_settings_are_refused(delivery: Delivery, message: str) -> None:
    with pytest.raises(CostlensError, match=message):
        delivery.check()


def test_the_scheduler_runs_on_time_survives_a_failed_run_and_stops() -> None:
    calls: list[float] = []

    def job() -> None:
        calls.append(time.monotonic())
        if len(calls) == 2:
            raise CostlensError("SMTP down")

    stop = threading.Event()
    assert run_schedule("* * * * * *", job, max_runs=3, stop=stop) == 2  # every second
    assert len(calls) == 3
    assert calls[2] - calls[0] >= 1.0
    stop.set()
    assert run_schedule("0 0 1 1 *", job, stop=stop) == 0  # stopped: returns at once


def _costlens(*args: str, db: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "COSTLENS_DB": str(db)}
    return subprocess.Popen(
        [sys.executable, "-m", "costlens", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.integration
def test_costlens_schedule_emails_each_run_then_stops(fresh_db: Path) -> None:
    with smtp_sink() as box:
        proc = _costlens(
            "schedule",
            "--cron",
            "* * * * * */2",
            "--smtp",
            box.address,
            "--to",
            "finops@example.com",
            "--max-runs",
            "2",
            db=fresh_db,
        )
        out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert len(box.messages) == 2
    assert box.messages[0]["Subject"].startswith("costlens: ")
    assert "stopped after 2 digest(s)" in out


@pytest.mark.integration
def test_costlens_schedule_stops_cleanly_on_sigterm(fresh_db: Path) -> None:
    proc = _costlens(
        "schedule", "--cron", "0 6 1 1 *", "--webhook", "http://127.0.0.1:9/x", db=fresh_db
    )
    assert proc.stdout is not None
    assert "scheduled" in proc.stdout.readline()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "stopped after 0 digest(s)" in out
    assert "Traceback" not in err
