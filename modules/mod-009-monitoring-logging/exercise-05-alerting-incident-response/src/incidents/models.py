"""What goes out (incidents) and the requests that move them, as pydantic models.

What comes in is Alertmanager's webhook, modelled once for the repo in
:mod:`aiinfra_shared.alertmanager` (re-exported here).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aiinfra_shared.alertmanager import AlertmanagerWebhook, WebhookAlert, fingerprint_of

__all__ = ["AlertmanagerWebhook", "WebhookAlert", "fingerprint_of"]


class State(StrEnum):
    """Incident lifecycle states, in order."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"


#: Which state may follow which (a human may skip ahead; nobody goes back to triggered).
TRANSITIONS: dict[State, set[State]] = {
    State.TRIGGERED: {State.ACKNOWLEDGED, State.MITIGATED, State.RESOLVED},
    State.ACKNOWLEDGED: {State.MITIGATED, State.RESOLVED},
    State.MITIGATED: {State.RESOLVED, State.ACKNOWLEDGED},
    State.RESOLVED: set(),
}

#: Alert ``severity`` label -> incident severity (1 = worst).
SEVERITY = {"critical": 1, "page": 1, "error": 2, "warning": 3, "ticket": 3, "info": 4}


def severity_of(labels: dict[str, str]) -> int:
    """The incident severity an alert's labels ask for (unknown or missing: 3)."""
    return SEVERITY.get(labels.get("severity", "").lower(), 3)


class IngestResult(BaseModel):
    """What one webhook did: new alerts, repeats folded into known ones, incidents touched."""

    received: int
    new_alerts: int
    duplicates: int
    resolved: int
    unknown_resolved: int = Field(
        0, description="Resolved alerts never seen firing (counted, nothing to close)."
    )
    incidents: list[int]


class Transition(BaseModel):
    """A person moving an incident along its lifecycle."""

    model_config = ConfigDict(extra="forbid")
    actor: str = Field(min_length=1, max_length=100, pattern=r"^[\w.@-]+$")
    note: str = Field("", max_length=4000)


class Note(BaseModel):
    """A free-text timeline entry."""

    model_config = ConfigDict(extra="forbid")
    actor: str = Field(min_length=1, max_length=100, pattern=r"^[\w.@-]+$")
    text: str = Field(min_length=1, max_length=4000)


class ActionItem(BaseModel):
    """A follow-up for the postmortem."""

    model_config = ConfigDict(extra="forbid")
    owner: str = Field(min_length=1, max_length=100, pattern=r"^[\w.@-]+$")
    text: str = Field(min_length=1, max_length=1000)
    priority: Literal["P1", "P2", "P3"] = "P2"
