"""A real SMTP server on loopback (aiosmtpd, in a thread of this process) that keeps what it
receives: the demos' and tests' mailbox, so e-mail is delivered over the wire, not to a mock.

    with smtp_sink() as box:
        smtplib.SMTP(box.host, box.port).send_message(msg)
        box.arrived.wait(5)

Comes with the ``smtp`` extra of aiinfra-shared.
"""

from __future__ import annotations

import email
import email.policy
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from aiinfra_shared.services.base import LOOPBACK, free_port


@dataclass
class Mailbox:
    """The messages an SMTP sink accepted."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        """Keep one message (aiosmtpd's hook)."""
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(msg)
        self.arrived.set()
        return "250 Message accepted for delivery"


@contextmanager
def smtp_sink() -> Iterator[Mailbox]:
    """Start an SMTP server on 127.0.0.1 and a free port; stop it on exit."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP verb
    box = Mailbox(LOOPBACK, free_port())
    controller = Controller(box, hostname=LOOPBACK, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
