"""Deduplication, grouping and correlation, the lifecycle, escalation with a moving clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from incidents.clock import ManualClock
from incidents.engine import Engine, NotFoundError, TransitionError
from incidents.models import State

Alert = Callable[..., dict[str, Any]]
Ingest = Callable[..., Any]


def test_a_repeated_alert_is_kept_once(ingest: Ingest, alert: Alert, engine: Engine) -> None:
    first = ingest(alert("ModelAccuracyLow", "model-server"))
    assert (first.new_alerts, first.duplicates) == (1, 0)
    for _ in range(5):
        again = ingest(alert("ModelAccuracyLow", "model-server"))
        assert (again.new_alerts, again.duplicates) == (0, 1)
    incident = engine.incident(first.incidents[0])
    assert len(incident["alerts"]) == 1
    assert incident["alerts"][0]["repeats"] == 5
    assert [t["kind"] for t in incident["timeline"]] == ["triggered", "alert_firing"]


def test_same_service_alerts_group_into_one_incident(
    ingest: Ingest, alert: Alert, engine: Engine
) -> None:
    a = ingest(alert("ModelAccuracyLow", "model-server", severity="warning"))
    b = ingest(alert("InferenceLatencyHigh", "model-server", severity="page"))
    assert a.incidents == b.incidents
    incident = engine.incident(a.incidents[0])
    assert {x["alertname"] for x in incident["alerts"]} == {
        "ModelAccuracyLow",
        "InferenceLatencyHigh",
    }
    assert incident["severity"] == 1  # raised by the page
    assert any(t["kind"] == "severity" for t in incident["timeline"])


def test_dependent_services_correlate_with_the_reason(
    ingest: Ingest, alert: Alert, engine: Engine
) -> None:
    root = ingest(alert("PostgresDown", "postgres", team="data"))
    child = ingest(alert("InferenceLatencyHigh", "api-gateway"))  # api -> model -> features -> pg
    assert child.incidents == root.incidents
    texts = [t["text"] for t in engine.incident(root.incidents[0])["timeline"]]
    assert "InferenceLatencyHigh firing on api-gateway (api-gateway depends on postgres)" in texts
    unrelated = ingest(alert("DiskFull", "billing"))
    assert unrelated.incidents != root.incidents


def test_outside_the_window_a_new_incident_opens(
    ingest: Ingest, alert: Alert, clock: ManualClock
) -> None:
    first = ingest(alert("A", "model-server"))
    clock.advance(minutes=31)
    second = ingest(alert("B", "model-server"))
    assert second.incidents != first.incidents


def test_lifecycle_with_timeline_and_audit(
    ingest: Ingest, alert: Alert, engine: Engine, clock: ManualClock
) -> None:
    inc = ingest(alert("A", "model-server")).incidents[0]
    clock.advance(minutes=4)
    engine.transition(inc, State.ACKNOWLEDGED, "carol", "looking")
    clock.advance(minutes=10)
    engine.transition(inc, State.MITIGATED, "carol", "rolled back")
    with pytest.raises(TransitionError, match="mitigated; it cannot become triggered"):
        engine.transition(inc, State.TRIGGERED, "carol")
    clock.advance(minutes=5)
    done = engine.transition(inc, State.RESOLVED, "carol")
    assert done["state"] == "resolved"
    assert done["acknowledged_by"] == "carol"
    assert [t["kind"] for t in done["timeline"]][-3:] == ["acknowledged", "mitigated", "resolved"]
    assert done["timeline"][-3]["text"] == "acknowledged by carol: looking"
    with pytest.raises(TransitionError):
        engine.transition(inc, State.ACKNOWLEDGED, "carol")
    actions = [(a["actor"], a["action"]) for a in engine.audit_log()]
    assert actions == [
        ("alertmanager", "incident.create"),
        ("carol", "incident.acknowledged"),
        ("carol", "incident.mitigated"),
        ("carol", "incident.resolved"),
    ]
    with pytest.raises(NotFoundError):
        engine.transition(999, State.RESOLVED, "carol")


def test_the_incident_resolves_when_its_last_alert_does(
    ingest: Ingest, alert: Alert, engine: Engine
) -> None:
    inc = ingest(alert("A", "model-server"), alert("B", "model-server")).incidents[0]
    ingest(alert("A", "model-server", status="resolved"))
    assert engine.incident(inc)["state"] == "triggered"
    result = ingest(alert("B", "model-server", status="resolved"))
    assert result.resolved == 1
    incident = engine.incident(inc)
    assert incident["state"] == "resolved"
    assert incident["timeline"][-1]["text"] == "resolved by alertmanager: all alerts resolved"
    # a resolved notification for an alert never seen is counted, not lost in silence
    assert ingest(alert("Z", "x", status="resolved")).unknown_resolved == 1


def test_an_alert_firing_again_after_resolution_opens_a_new_incident(
    ingest: Ingest, alert: Alert
) -> None:
    first = ingest(alert("A", "model-server")).incidents
    ingest(alert("A", "model-server", status="resolved"))
    again = ingest(alert("A", "model-server"))
    assert again.new_alerts == 1
    assert again.incidents != first


def test_escalation_follows_the_policy_and_the_clock(
    ingest: Ingest, alert: Alert, engine: Engine, clock: ManualClock
) -> None:
    inc = ingest(alert("ModelAccuracyLow", "model-server")).incidents[0]
    assert engine.escalate() == 1  # step 1: ml-primary is carol this week (e-mail only)
    notes = engine.incident(inc)["notifications"]
    assert [(n["user"], n["channel"], n["status"]) for n in notes] == [
        ("carol", "email", "pending")
    ]
    clock.advance(minutes=14)
    assert engine.escalate() == 0
    clock.advance(minutes=1)
    engine.escalate()
    people = [n["user"] for n in engine.incident(inc)["notifications"]]
    assert people[1:]  # step 2: ml-secondary, daily in New York
    assert set(people[1:]) <= {"dave", "erin"}
    engine.transition(inc, State.ACKNOWLEDGED, "carol")
    clock.advance(minutes=60)
    assert engine.escalate() == 0  # acknowledged: no head-of-ml


def test_unacknowledged_for_30_minutes_reaches_the_head_of_ml(
    ingest: Ingest, alert: Alert, engine: Engine, clock: ManualClock
) -> None:
    inc = ingest(alert("ModelAccuracyLow", "model-server")).incidents[0]
    clock.advance(minutes=45)
    engine.escalate()  # every due step at once, each once
    engine.escalate()
    incident = engine.incident(inc)
    steps = [t["text"] for t in incident["timeline"] if t["kind"] == "escalated"]
    assert len(steps) == 3
    assert steps[-1] == "step 3: notified head-of-ml"
    assert [n["user"] for n in incident["notifications"]].count("head-of-ml") == 1


def test_the_whole_webhook_is_one_transaction(engine: Engine, webhook: Any, alert: Alert) -> None:
    from incidents.models import AlertmanagerWebhook
    from pydantic import ValidationError

    body = webhook(
        alert("A", "model-server"), {**alert("B", "model-server"), "startsAt": "not a time"}
    )
    with pytest.raises(ValidationError):
        engine.ingest(AlertmanagerWebhook.model_validate(body))
    assert engine.incidents() == []
