"""Delivery over a real SMTP server and real HTTP receivers: retries, failures, rate limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from incidents.engine import Engine
from incidents.notify import Bucket, Dispatcher

from aiinfra_shared.services.base import free_port
from aiinfra_shared.services.smtp import Mailbox, smtp_sink

pytestmark = pytest.mark.integration


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_sink() as box:
        yield box


def receiver(answers: list[int], got: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        got.append(await request.json())
        return Response(status_code=answers.pop(0) if answers else 200)

    return app


def queue(engine: Engine, ingest: Any, alert: Any, user: str, channel: str, target: str) -> int:
    inc = ingest(alert("ModelAccuracyLow", "model-server")).incidents[0]
    with engine.db.tx() as tx:
        tx.execute(
            "INSERT INTO notifications (incident_id, created_at, user, channel, target, reason, "
            "status) VALUES (?, '2026-12-07T10:00:00+00:00', ?, ?, ?, 'test', 'pending')",
            (inc, user, channel, target),
        )
    return int(inc)


def test_email_arrives_over_smtp_with_the_incident(
    engine: Engine, ingest: Any, alert: Any, mailbox: Mailbox
) -> None:
    inc = ingest(alert("ModelAccuracyLow", "model-server")).incidents[0]
    engine.escalate()
    outcome = Dispatcher(engine, smtp_port=mailbox.port).run_pending()
    assert outcome == {"sent": 1, "failed": 0, "rate_limited": 0}
    assert mailbox.arrived.wait(5)
    message = mailbox.messages[0]
    assert message["To"] == "carol@example.org"
    assert message["Subject"] == f"[SEV1] #{inc} ModelAccuracyLow on model-server"
    assert "escalation step 1" in message.get_content()
    sent = engine.incident(inc)["notifications"][0]
    assert (sent["status"], sent["attempts"]) == ("sent", 1)
    assert any(t["kind"] == "notified" for t in engine.incident(inc)["timeline"])


def test_a_503_is_retried_then_delivered(
    engine: Engine, ingest: Any, alert: Any, asgi_server: Callable[..., Any]
) -> None:
    got: list[dict[str, Any]] = []
    served = asgi_server(receiver([503, 503], got))
    inc = queue(engine, ingest, alert, "bob", "chat", f"{served.url}/hook")
    outcome = Dispatcher(engine, backoff=0.01).run_pending()
    assert outcome["sent"] == 1
    note = engine.incident(inc)["notifications"][0]
    assert (note["status"], note["attempts"]) == ("sent", 3)
    assert len(got) == 3
    assert got[-1]["dedup_key"] == f"incident-{inc}"
    assert got[-1]["text"].startswith("[SEV1] incident")


def test_a_400_is_not_retried(
    engine: Engine, ingest: Any, alert: Any, asgi_server: Callable[..., Any]
) -> None:
    got: list[dict[str, Any]] = []
    served = asgi_server(receiver([400], got))
    inc = queue(engine, ingest, alert, "bob", "chat", f"{served.url}/hook")
    assert Dispatcher(engine, backoff=0.01).run_pending()["failed"] == 1
    note = engine.incident(inc)["notifications"][0]
    assert (note["status"], note["attempts"]) == ("failed", 1)
    assert note["error"].startswith("HTTP 400")
    assert len(got) == 1


def test_an_unreachable_receiver_fails_after_every_retry(
    engine: Engine, ingest: Any, alert: Any
) -> None:
    inc = queue(engine, ingest, alert, "bob", "chat", f"http://127.0.0.1:{free_port()}/hook")
    Dispatcher(engine, attempts=3, backoff=0.01).run_pending()
    note = engine.incident(inc)["notifications"][0]
    assert (note["status"], note["attempts"]) == ("failed", 3)
    assert "ConnectError" in note["error"]


def test_email_without_an_smtp_server_fails_with_the_reason(
    engine: Engine, ingest: Any, alert: Any
) -> None:
    inc = queue(engine, ingest, alert, "carol", "email", "carol@example.org")
    Dispatcher(engine, smtp_port=0).run_pending()
    note = engine.incident(inc)["notifications"][0]
    assert note["status"] == "failed"
    assert "no SMTP server configured" in note["error"]


def test_rate_limit_holds_notifications_back_without_losing_them(
    engine: Engine, ingest: Any, alert: Any, mailbox: Mailbox
) -> None:
    now = [0.0]
    inc = ingest(alert("ModelAccuracyLow", "model-server")).incidents[0]
    with engine.db.tx() as tx:
        for _ in range(5):
            tx.execute(
                "INSERT INTO notifications (incident_id, created_at, user, channel, target, "
                "reason, status) VALUES (?, 'x', 'carol', 'email', 'carol@example.org', 'flap', "
                "'pending')",
                (inc,),
            )
    dispatcher = Dispatcher(
        engine, smtp_port=mailbox.port, rate=2, per=60, monotonic=lambda: now[0]
    )
    assert dispatcher.run_pending() == {"sent": 2, "failed": 0, "rate_limited": 3}
    assert [n["status"] for n in engine.incident(inc)["notifications"]].count("pending") == 3
    now[0] += 30  # one token back
    assert dispatcher.run_pending()["sent"] == 1
    now[0] += 120
    assert dispatcher.run_pending()["sent"] == 2
    assert [n["status"] for n in engine.incident(inc)["notifications"]] == ["sent"] * 5


def test_token_bucket() -> None:
    bucket = Bucket(rate=3, per=3.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(1.0) is True
    assert bucket.take(1.0) is False
