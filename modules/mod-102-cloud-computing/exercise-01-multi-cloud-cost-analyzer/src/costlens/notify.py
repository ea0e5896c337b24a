"""Deliver the digest: e-mail over SMTP and/or a JSON POST to a webhook; and the scheduler."""

from __future__ import annotations

import json
import logging
import signal
import smtplib
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from croniter import CroniterBadCronError, croniter

from costlens.errors import CostlensError

logger = logging.getLogger(__name__)


@dataclass
class Delivery:
    """Where the digest goes: ``smtp`` as host:port, ``to`` addresses, a ``webhook`` URL."""

    smtp: str | None = None
    to: tuple[str, ...] = ()
    sender: str = "costlens@localhost"
    webhook: str | None = None

    def check(self) -> None:
        if not self.smtp and not self.webhook:
            raise CostlensError("nowhere to send the digest: give --smtp and --to, or --webhook")
        if self.smtp:
            host, _, port = self.smtp.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise CostlensError(f"--smtp must be host:port, got {self.smtp!r}")
            if not self.to or any("@" not in a for a in self.to):
                raise CostlensError("--smtp needs at least one --to address (name@host)")
        if self.webhook and not self.webhook.startswith(("http://", "https://")):
            raise CostlensError(f"--webhook must be an http(s) URL, got {self.webhook!r}")


def send_email(d: Delivery, subject: str, text: str, attachment: Path | None = None) -> None:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, d.sender, ", ".join(d.to)
    msg.set_content(text)
    if attachment is not None:
        msg.add_attachment(
            attachment.read_bytes(), maintype="text", subtype="html", filename=attachment.name
        )
    host, _, port = (d.smtp or "").rpartition(":")
    try:
        with smtplib.SMTP(host, int(port), timeout=30) as smtp:
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise CostlensError(f"SMTP {d.smtp}: {exc}") from exc


def post_webhook(url: str, payload: dict[str, Any]) -> int:
    if not url.startswith(("http://", "https://")):
        raise CostlensError(f"webhook must be an http(s) URL, got {url!r}")
    request = urllib.request.Request(  # noqa: S310 - http(s) checked above
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http(s) only
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise CostlensError(f"webhook {url} answered {exc.code}") from exc
    except (OSError, urllib.error.URLError) as exc:
        raise CostlensError(f"webhook {url}: {exc}") from exc


def parse_cron(expr: str) -> croniter:
    """A cron expression of 5 fields, or 6 with seconds last (croniter's convention)."""
    if len(expr.split()) not in (5, 6):
        raise CostlensError(f"--cron needs 5 fields (or 6 with seconds), got {expr!r}")
    try:
        return croniter(expr, datetime.now())
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        raise CostlensError(f"--cron {expr!r}: {exc}") from exc


def stop_on_signals() -> threading.Event:
    """An event that SIGTERM and SIGINT set (install it before announcing readiness)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def run_schedule(
    expr: str,
    job: Callable[[], None],
    *,
    max_runs: int | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = datetime.now,
) -> int:
    """Run ``job`` at every time the cron expression gives, until ``max_runs`` or SIGTERM.

    SIGTERM and SIGINT end the wait at once; a job already running finishes first. A job
    that fails is logged and the schedule goes on (one bad night must not stop the reports).

    Returns:
        The number of runs that succeeded.
    """
    it = parse_cron(expr)
    if stop is None:
        main = threading.current_thread() is threading.main_thread()
        stop = stop_on_signals() if main else threading.Event()
    runs = ok = 0
    it.set_current(clock())
    while not stop.is_set() and (max_runs is None or runs < max_runs):
        due = it.get_next(datetime)
        wait = (due - clock()).total_seconds()
        if wait > 0 and stop.wait(wait):
            break
        runs += 1
        try:
            job()
            ok += 1
            logger.info("digest %d sent (due %s)", runs, due.isoformat(timespec="seconds"))
        except CostlensError as exc:
            logger.error("digest %d failed: %s", runs, exc)
    return ok
