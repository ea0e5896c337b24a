"""Postmortems from the timeline, and MTTA/MTTR/MTBF/noise/on-call load figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from incidents import analytics, postmortem
from incidents.clock import ManualClock
from incidents.engine import Engine
from incidents.models import State


@pytest.fixture
def history(engine: Engine, ingest: Any, alert: Any, clock: ManualClock) -> list[int]:
    """Three incidents of model-server, 2 h apart: ack after 5/10/15 min, resolve after 30/60/90."""
    ids = []
    for i in range(3):
        inc = ingest(alert(f"Alert{i}", "model-server")).incidents[0]
        ingest(alert(f"Alert{i}", "model-server"))  # a repeat
        clock.advance(minutes=5 * (i + 1))
        engine.transition(inc, State.ACKNOWLEDGED, "carol")
        clock.advance(minutes=30 * (i + 1) - 5 * (i + 1))
        engine.transition(inc, State.RESOLVED, "carol")
        clock.advance(minutes=120 - 30 * (i + 1))
        ids.append(inc)
    return ids


def test_figures(engine: Engine, history: list[int]) -> None:
    figures = analytics.compute(engine.db)
    assert figures["incidents"] == 3
    assert figures["mtta_seconds"] == pytest.approx(10 * 60)
    assert figures["mttr_seconds"] == pytest.approx(60 * 60)
    assert figures["mtbf_seconds"] == pytest.approx(120 * 60)
    assert figures["alert_notifications_received"] == 6
    assert figures["distinct_alerts"] == 3
    assert figures["noise_reduction"] == pytest.approx(0.5)


def test_oncall_load_counts_off_hours(engine: Engine, ingest: Any, alert: Any) -> None:
    inc = ingest(alert("A", "x")).incidents[0]
    with engine.db.tx() as tx:
        for user, sent in (
            ("carol", "2026-12-07T10:00:00+00:00"),
            ("carol", "2026-12-07T03:00:00+00:00"),
            ("bob", "2026-12-07T21:30:00+00:00"),
        ):
            tx.execute(
                "INSERT INTO notifications (incident_id, created_at, user, channel, target, "
                "reason, status, sent_at) VALUES (?, ?, ?, 'email', 't', 'r', 'sent', ?)",
                (inc, sent, user, sent),
            )
    figures = analytics.compute(engine.db)
    assert figures["oncall_load"] == {"carol": 2, "bob": 1}
    assert figures["oncall_off_hours"] == {"carol": 1, "bob": 1}


def test_report_and_plot(engine: Engine, history: list[int], tmp_path: Path) -> None:
    figures = analytics.compute(engine.db)
    text = analytics.markdown(figures)
    assert "| MTTR | 1.0 h |" in text
    assert "| noise reduction (1 - incidents/notifications) | 50.0% |" in text
    png = analytics.plot(figures, tmp_path / "r.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_empty_database_report(engine: Engine) -> None:
    text = analytics.markdown(analytics.compute(engine.db))
    assert "| incidents (open) | 0 (0) |" in text
    assert "| MTTR | - |" in text


def test_postmortem_from_the_timeline(engine: Engine, history: list[int]) -> None:
    inc = history[1]
    engine.add_note(inc, "carol", "rolled back model v42 | v41")
    engine.add_action_item(inc, "erin", "alert on staleness after 1 h", "P1", "erin")
    text = postmortem.render(engine.incident(inc))
    assert text.startswith(f"# Postmortem: incident #{inc}: Alert1 on model-server")
    assert "| Time to acknowledge | 10 min 0 s |" in text
    assert "| Time to resolve | 1 h 0 min |" in text
    assert "rolled back model v42 \\| v41" in text  # a | in a note does not break the table
    assert "| P1 | erin | alert on staleness after 1 h |" in text
    assert "1 repeat notifications folded in" in text
