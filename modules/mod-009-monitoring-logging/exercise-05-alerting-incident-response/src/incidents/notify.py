"""Deliver queued notifications: e-mail over SMTP, chat/pager webhooks over HTTP.

Notifications are rows first (``pending``), sent after: a crash between the two loses
nothing, and a slow channel never holds up the webhook that caused it. Each delivery is retried
with exponential backoff on network errors, 5xx and 429 (a 4xx other than 429 will not get
better: it fails at once). A per-recipient token bucket keeps a flapping alert from paging
someone fifty times: over the limit a notification stays ``pending`` (``rate_limited`` noted)
and goes out when the bucket refills.
"""

from __future__ import annotations

import json
import logging
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx

from incidents.engine import Engine, iso

logger = logging.getLogger(__name__)


@dataclass
class Bucket:
    """Token bucket: ``rate`` tokens per ``per`` seconds, at most ``rate`` saved up."""

    rate: int
    per: float
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        if self.tokens < 0:
            self.tokens, self.stamp = float(self.rate), now
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate / self.per)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class DeliveryError(Exception):
    """One failed delivery try; ``retry`` says whether another try could help."""

    message: str
    retry: bool


@dataclass
class Dispatcher:
    """Sends what the engine queued.

    Attributes:
        engine: Where the queue lives.
        smtp_host: SMTP server host.
        smtp_port: SMTP server port (0: e-mail is marked failed with a clear reason).
        sender: From address.
        attempts: Tries per notification.
        backoff: Seconds before the 2nd try; doubles each time.
        rate: Notifications per recipient per ``per`` seconds.
        per: The rate window.
    """

    engine: Engine
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 0
    sender: str = "incidents@localhost"
    attempts: int = 3
    backoff: float = 0.2
    rate: int = 5
    per: float = 60.0
    monotonic: Callable[[], float] = time.monotonic
    _buckets: dict[str, Bucket] = field(default_factory=dict)

    def run_pending(self, limit: int = 200) -> dict[str, int]:
        """Try every pending notification once (with its retries); returns counts by outcome."""
        pending = self.engine.db.rows(
            "SELECT n.*, i.title, i.severity, i.service, i.state FROM notifications n "
            "JOIN incidents i ON i.id = n.incident_id WHERE n.status='pending' "
            "ORDER BY n.id LIMIT ?",
            (limit,),
        )
        outcome = {"sent": 0, "failed": 0, "rate_limited": 0}
        for note in pending:
            bucket = self._buckets.setdefault(note["user"], Bucket(self.rate, self.per))
            if not bucket.take(self.monotonic()):
                outcome["rate_limited"] += 1
                self._update(note["id"], "pending", note["attempts"], "rate limited; will retry")
                continue
            status, attempts, error = self._deliver(note)
            outcome[status] += 1
            self._update(note["id"], status, note["attempts"] + attempts, error)
            self.engine.record(
                note["incident_id"],
                "notified" if status == "sent" else "notify_failed",
                "notifier",
                f"{note['channel']} to {note['user']} ({note['target']}): {status}"
                + (f" after {attempts} tries" if attempts > 1 else "")
                + (f": {error}" if error else ""),
                {"notification": note["id"]},
            )
        return outcome

    def _update(self, nid: int, status: str, attempts: int, error: str) -> None:
        sent = iso(self.engine.clock.now()) if status == "sent" else None
        with self.engine.db.tx() as tx:
            tx.execute(
                "UPDATE notifications SET status=?, attempts=?, error=?, sent_at=? WHERE id=?",
                (status, attempts, error[:500], sent, nid),
            )

    def _deliver(self, note: dict[str, Any]) -> tuple[str, int, str]:
        send = self._email if note["channel"] == "email" else self._webhook
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                send(note)
                return "sent", attempt, ""
            except DeliveryError as exc:
                if not exc.retry or attempt == self.attempts:
                    return "failed", attempt, exc.message
                time.sleep(delay)
                delay *= 2
        return "failed", self.attempts, "no attempt made"  # pragma: no cover

    def _email(self, note: dict[str, Any]) -> None:
        if not self.smtp_port:
            raise DeliveryError("no SMTP server configured (INCIDENTS_SMTP_PORT)", retry=False)
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = note["target"]
        message["Subject"] = f"[SEV{note['severity']}] #{note['incident_id']} {note['title']}"
        message.set_content(
            f"Incident #{note['incident_id']} on {note['service']} is {note['state']}.\n"
            f"Why you: {note['reason']}.\n\n{note['title']}\n"
        )
        try:
            with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=10) as smtp:
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                retry=exc.smtp_code >= 400 and exc.smtp_code < 500,
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP: {exc}", retry=True) from None

    def _webhook(self, note: dict[str, Any]) -> None:
        body = {
            # Slack's incoming-webhook shape, plus PagerDuty Events v2 fields
            "text": f"[SEV{note['severity']}] incident #{note['incident_id']} on "
            f"{note['service']}: {note['title']} ({note['reason']})",
            "routing_key": note["user"],
            "event_action": "trigger",
            "dedup_key": f"incident-{note['incident_id']}",
            "payload": {
                "summary": note["title"],
                "source": note["service"],
                "severity": "critical" if note["severity"] <= 1 else "warning",
            },
        }
        try:
            response = httpx.post(
                note["target"],
                content=json.dumps(body),
                headers={"content-type": "application/json"},
                timeout=10,
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retry=True) from None
        if response.status_code >= 400:
            retry = response.status_code >= 500 or response.status_code == 429
            raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}", retry=retry)


class Worker:
    """Background loop: escalate, then deliver, every ``interval`` seconds until stopped."""

    def __init__(self, engine: Engine, dispatcher: Dispatcher, interval: float = 1.0) -> None:
        self.engine, self.dispatcher, self.interval = engine, dispatcher, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="incidents-worker", daemon=True)

    def start(self) -> None:
        """Start the loop."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current pass."""
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.engine.escalate()
                self.dispatcher.run_pending()
            except Exception:  # the loop must survive a bad pass; the error is logged
                logger.exception("escalation/notification pass failed")
            self._stop.wait(self.interval)
