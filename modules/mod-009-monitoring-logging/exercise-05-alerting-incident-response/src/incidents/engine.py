"""The incident engine: alerts in, incidents with a lifecycle, a timeline and an audit log out.

- **Deduplication**: an alert is identified by its fingerprint; Alertmanager re-sends firing
  alerts every ``repeat_interval`` and whole groups on every change, so a known firing alert
  only bumps its repeat counter.
- **Grouping and correlation** (:mod:`incidents.correlation`): a new alert joins an open
  incident of the same or a dependent service within the window; otherwise it opens one.
- **Lifecycle**: triggered -> acknowledged -> mitigated -> resolved (:data:`TRANSITIONS`);
  every change is a timeline entry and an audit record; the incident resolves by itself when
  all its alerts have resolved.
- **Escalation** (:meth:`Engine.escalate`): while nobody acknowledged, each step of the team's
  policy notifies its targets once its minutes have passed.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from incidents.clock import Clock, SystemClock
from incidents.correlation import DependencyMap
from incidents.db import Database
from incidents.errors import IncidentsError
from incidents.models import (
    TRANSITIONS,
    AlertmanagerWebhook,
    IngestResult,
    State,
    WebhookAlert,
    severity_of,
)
from incidents.oncall import OncallConfig

logger = logging.getLogger(__name__)


class NotFoundError(IncidentsError):
    """No such incident."""


class TransitionError(IncidentsError):
    """A lifecycle move that is not allowed from the incident's state."""


def iso(moment: datetime) -> str:
    """A UTC ISO 8601 string with microseconds (what the database stores; sorts as text)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    """The inverse of :func:`iso`."""
    return datetime.fromisoformat(text)


def service_of(labels: dict[str, str]) -> str:
    """The service an alert is about: ``service``, else ``job``, else ``unknown``."""
    return labels.get("service") or labels.get("job") or "unknown"


class Engine:
    """Everything the API does, on one database (thread-safe through its lock)."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock | None = None,
        dependencies: DependencyMap | None = None,
        oncall: OncallConfig | None = None,
        window: timedelta = timedelta(minutes=30),
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.dependencies = dependencies or DependencyMap()
        self.oncall = oncall or OncallConfig()
        self.window = window

    # ------------------------------------------------------------------ ingest
    def ingest(self, payload: AlertmanagerWebhook) -> IngestResult:
        """Apply one Alertmanager webhook (all or nothing: one transaction)."""
        now = self.clock.now()
        new = dup = resolved = unknown = 0
        touched: set[int] = set()
        with self.db.tx() as tx:
            tx.execute(
                "INSERT INTO webhook_log (received_at, receiver, alerts, group_key) "
                "VALUES (?,?,?,?)",
                (iso(now), payload.receiver, len(payload.alerts), payload.groupKey),
            )
            for alert in payload.alerts:
                kind, incident = self._apply(tx, alert, now)
                new += kind == "new"
                dup += kind == "duplicate"
                resolved += kind == "resolved"
                unknown += kind == "unknown-resolved"
                if incident is not None:
                    touched.add(incident)
        return IngestResult(
            received=len(payload.alerts),
            new_alerts=new,
            duplicates=dup,
            resolved=resolved,
            unknown_resolved=unknown,
            incidents=sorted(touched),
        )

    def _apply(self, tx: Any, alert: WebhookAlert, now: datetime) -> tuple[str, int | None]:
        fp = alert.identity()
        row = tx.execute(
            "SELECT a.status, a.incident_id, i.state FROM alerts a "
            "LEFT JOIN incidents i ON i.id = a.incident_id WHERE a.fingerprint = ?",
            (fp,),
        ).fetchone()
        labels = alert.labels
        name = labels["alertname"]
        if alert.status == "resolved":
            if row is None or row["status"] == "resolved":
                return "duplicate" if row is not None else "unknown-resolved", None
            tx.execute(
                "UPDATE alerts SET status='resolved', ends_at=?, last_seen=? WHERE fingerprint=?",
                (iso(alert.endsAt or now), iso(now), fp),
            )
            incident = row["incident_id"]
            self._log(
                tx,
                incident,
                now,
                "alert_resolved",
                "alertmanager",
                f"{name} resolved",
                {"fingerprint": fp},
            )
            still = tx.execute(
                "SELECT count(*) FROM alerts WHERE incident_id=? AND status='firing'", (incident,)
            ).fetchone()[0]
            if still == 0 and row["state"] != State.RESOLVED:
                self._move(tx, incident, State.RESOLVED, "alertmanager", "all alerts resolved", now)
            return "resolved", incident
        if row is not None and row["status"] == "firing" and row["state"] != State.RESOLVED:
            tx.execute(
                "UPDATE alerts SET repeats = repeats + 1, last_seen=? WHERE fingerprint=?",
                (iso(now), fp),
            )
            return "duplicate", row["incident_id"]
        service = service_of(labels)
        incident, reason = self._correlate(tx, service, now)
        severity = severity_of(labels)
        if incident is None:
            title = alert.annotations.get("summary") or f"{name} on {service}"
            team = labels.get("team", "unknown")
            policy = self.oncall.policy_for(team)
            cursor = tx.execute(
                "INSERT INTO incidents (title, service, team, severity, state, created_at, "
                "policy, last_activity_at) VALUES (?,?,?,?,?,?,?,?)",
                (
                    title[:300],
                    service,
                    team,
                    severity,
                    State.TRIGGERED,
                    iso(now),
                    policy[0] if policy else None,
                    iso(now),
                ),
            )
            incident = int(cursor.lastrowid)
            self._log(
                tx,
                incident,
                now,
                "triggered",
                "alertmanager",
                f"incident opened by {name} on {service} (SEV{severity})",
                {},
            )
            self._audit(tx, now, "alertmanager", "incident.create", incident, {"alert": name})
        else:
            current = tx.execute(
                "SELECT severity FROM incidents WHERE id=?", (incident,)
            ).fetchone()[0]
            if severity < current:
                tx.execute("UPDATE incidents SET severity=? WHERE id=?", (severity, incident))
                self._log(
                    tx,
                    incident,
                    now,
                    "severity",
                    "alertmanager",
                    f"severity raised to SEV{severity} by {name}",
                    {},
                )
        tx.execute(
            "INSERT INTO alerts (fingerprint, alertname, service, labels, annotations, status, "
            "starts_at, first_seen, last_seen, incident_id) VALUES (?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(fingerprint) DO UPDATE SET status='firing', ends_at=NULL, "
            "last_seen=excluded.last_seen, starts_at=excluded.starts_at, "
            "incident_id=excluded.incident_id, labels=excluded.labels, "
            "annotations=excluded.annotations",
            (
                fp,
                name,
                service,
                json.dumps(labels, sort_keys=True),
                json.dumps(alert.annotations),
                "firing",
                iso(alert.startsAt),
                iso(now),
                iso(now),
                incident,
            ),
        )
        tx.execute("UPDATE incidents SET last_activity_at=? WHERE id=?", (iso(now), incident))
        self._log(
            tx,
            incident,
            now,
            "alert_firing",
            "alertmanager",
            f"{name} firing on {service}" + (f" ({reason})" if reason else ""),
            {"fingerprint": fp, "labels": labels},
        )
        return "new", incident

    def _correlate(self, tx: Any, service: str, now: datetime) -> tuple[int | None, str]:
        since = iso(now - self.window)
        candidates = tx.execute(
            "SELECT id, service FROM incidents WHERE state != 'resolved' AND last_activity_at >= ? "
            "ORDER BY id",
            (since,),
        ).fetchall()
        for candidate in candidates:
            reason = self.dependencies.related(service, candidate["service"])
            if reason:
                return int(candidate["id"]), "" if reason == "same service" else reason
        return None, ""

    # --------------------------------------------------------------- lifecycle
    def transition(
        self, incident: int, target: State, actor: str, note: str = ""
    ) -> dict[str, Any]:
        """Move an incident (ack, mitigate, resolve) as ``actor``.

        Raises:
            NotFoundError: No such incident.
            TransitionError: Not allowed from its state.
        """
        now = self.clock.now()
        with self.db.tx() as tx:
            row = tx.execute("SELECT state FROM incidents WHERE id=?", (incident,)).fetchone()
            if row is None:
                raise NotFoundError(f"no incident {incident}")
            state = State(row["state"])
            if target not in TRANSITIONS[state]:
                raise TransitionError(f"incident {incident} is {state}; it cannot become {target}")
            self._move(tx, incident, target, actor, note, now)
        return self.incident(incident)

    def _move(
        self, tx: Any, incident: int, target: State, actor: str, note: str, now: datetime
    ) -> None:
        column = {
            State.ACKNOWLEDGED: "acknowledged_at",
            State.MITIGATED: "mitigated_at",
            State.RESOLVED: "resolved_at",
        }[target]
        tx.execute(
            f"UPDATE incidents SET state=?, {column}=coalesce({column}, ?), "  # noqa: S608
            "last_activity_at=? WHERE id=?",
            (target, iso(now), iso(now), incident),
        )
        if target == State.ACKNOWLEDGED:
            tx.execute(
                "UPDATE incidents SET acknowledged_by=coalesce(acknowledged_by, ?) WHERE id=?",
                (actor, incident),
            )
        if target == State.RESOLVED:  # skipped steps count as done when it resolves
            tx.execute(
                "UPDATE incidents SET acknowledged_at=coalesce(acknowledged_at, ?) WHERE id=?",
                (iso(now), incident),
            )
        self._log(
            tx,
            incident,
            now,
            str(target),
            actor,
            f"{target} by {actor}" + (f": {note}" if note else ""),
            {},
        )
        self._audit(tx, now, actor, f"incident.{target}", incident, {"note": note})

    def add_note(self, incident: int, actor: str, text: str) -> dict[str, Any]:
        """A free-text timeline entry."""
        now = self.clock.now()
        with self.db.tx() as tx:
            self._exists(tx, incident)
            self._log(tx, incident, now, "note", actor, text, {})
            self._audit(tx, now, actor, "incident.note", incident, {})
        return self.incident(incident)

    def add_action_item(
        self, incident: int, owner: str, text: str, priority: str, actor: str
    ) -> dict[str, Any]:
        """A postmortem follow-up."""
        now = self.clock.now()
        with self.db.tx() as tx:
            self._exists(tx, incident)
            tx.execute(
                "INSERT INTO action_items (incident_id, owner, text, priority, created_at) "
                "VALUES (?,?,?,?,?)",
                (incident, owner, text, priority, iso(now)),
            )
            self._audit(tx, now, actor, "incident.action_item", incident, {"owner": owner})
        return self.incident(incident)

    def record(self, incident: int, kind: str, actor: str, text: str, data: dict[str, Any]) -> None:
        """Attach something that happened elsewhere (a runbook run, a notification)."""
        now = self.clock.now()
        with self.db.tx() as tx:
            self._exists(tx, incident)
            self._log(tx, incident, now, kind, actor, text, data)
            self._audit(tx, now, actor, f"incident.{kind}", incident, {})

    # -------------------------------------------------------------- escalation
    def escalate(self) -> int:
        """Queue the notifications every unacknowledged incident is due; returns how many."""
        now = self.clock.now()
        queued = 0
        with self.db.tx() as tx:
            open_ = tx.execute(
                "SELECT id, policy, created_at, escalation_level, title, severity FROM incidents "
                "WHERE state='triggered' AND policy IS NOT NULL"
            ).fetchall()
            for inc in open_:
                steps = self.oncall.escalation_policies.get(inc["policy"], [])
                elapsed = now - parse_time(inc["created_at"])
                level = inc["escalation_level"]
                for index, step in enumerate(steps):
                    if index <= level or elapsed < timedelta(minutes=step.after_minutes):
                        continue
                    people = [p for target in step.notify for p in self.oncall.resolve(target, now)]
                    for person in dict.fromkeys(people):
                        queued += self._queue(
                            tx,
                            inc["id"],
                            person,
                            now,
                            f"escalation step {index + 1} ({step.after_minutes} min)",
                        )
                    self._log(
                        tx,
                        inc["id"],
                        now,
                        "escalated",
                        "escalation",
                        f"step {index + 1}: notified {', '.join(dict.fromkeys(people))}",
                        {"step": index, "people": people},
                    )
                    level = index
                tx.execute("UPDATE incidents SET escalation_level=? WHERE id=?", (level, inc["id"]))
        return queued

    def _queue(self, tx: Any, incident: int, person: str, now: datetime, reason: str) -> int:
        contact = self.oncall.users.get(person)
        channels = []
        if contact and contact.email:
            channels.append(("email", contact.email))
        if contact and contact.chat:
            channels.append(("chat", contact.chat))
        for channel, target in channels:
            tx.execute(
                "INSERT INTO notifications (incident_id, created_at, user, channel, target, "
                "reason, status) VALUES (?,?,?,?,?,?,'pending')",
                (incident, iso(now), person, channel, target, reason),
            )
        if not channels:
            self._log(
                tx,
                incident,
                now,
                "notify_skipped",
                "escalation",
                f"{person} has no contact method",
                {},
            )
        return len(channels)

    # ------------------------------------------------------------------ reads
    def incident(self, incident: int) -> dict[str, Any]:
        """One incident with its alerts, timeline and action items.

        Raises:
            NotFoundError: No such incident.
        """
        found = self.db.rows("SELECT * FROM incidents WHERE id=?", (incident,))
        if not found:
            raise NotFoundError(f"no incident {incident}")
        item = found[0]
        item["alerts"] = self.db.rows(
            "SELECT fingerprint, alertname, service, labels, annotations, status, starts_at, "
            "ends_at, repeats FROM alerts WHERE incident_id=? ORDER BY first_seen",
            (incident,),
        )
        item["timeline"] = self.db.rows(
            "SELECT at, kind, actor, text, data FROM timeline WHERE incident_id=? ORDER BY id",
            (incident,),
        )
        item["action_items"] = self.db.rows(
            "SELECT owner, text, priority, created_at FROM action_items WHERE incident_id=? "
            "ORDER BY id",
            (incident,),
        )
        item["notifications"] = self.db.rows(
            "SELECT user, channel, target, reason, status, attempts, error, sent_at FROM "
            "notifications WHERE incident_id=? ORDER BY id",
            (incident,),
        )
        return item

    def incidents(self, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Incidents, newest first, with their alert counts."""
        return self.db.rows(
            "SELECT i.*, (SELECT count(*) FROM alerts a WHERE a.incident_id=i.id) AS alert_count "
            "FROM incidents i WHERE (? IS NULL OR state=?) ORDER BY id DESC LIMIT ?",
            (state, state, limit),
        )

    def audit_log(self, limit: int = 1000) -> list[dict[str, Any]]:
        """The audit log, oldest first."""
        return self.db.rows("SELECT * FROM audit ORDER BY id LIMIT ?", (limit,))

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _exists(tx: Any, incident: int) -> None:
        if tx.execute("SELECT 1 FROM incidents WHERE id=?", (incident,)).fetchone() is None:
            raise NotFoundError(f"no incident {incident}")

    @staticmethod
    def _log(
        tx: Any,
        incident: int,
        now: datetime,
        kind: str,
        actor: str,
        text: str,
        data: dict[str, Any],
    ) -> None:
        tx.execute(
            "INSERT INTO timeline (incident_id, at, kind, actor, text, data) VALUES (?,?,?,?,?,?)",
            (incident, iso(now), kind, actor, text, json.dumps(data, default=str)),
        )

    @staticmethod
    def _audit(
        tx: Any,
        now: datetime,
        actor: str,
        action: str,
        incident: int | None,
        detail: dict[str, Any],
    ) -> None:
        tx.execute(
            "INSERT INTO audit (at, actor, action, incident_id, detail) VALUES (?,?,?,?,?)",
            (iso(now), actor, action, incident, json.dumps(detail, default=str)),
        )
