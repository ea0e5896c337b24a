"""The incident service's HTTP API (FastAPI)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Path, Query
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import Counter, Gauge
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from aiinfra_shared.alertmanager import WebhookEnvelope
from aiinfra_shared.apidocs import document_framework_errors
from aiinfra_shared.httpapi import safe_validation_errors
from aiinfra_shared.metrics import instrument_app, new_registry
from incidents import analytics, postmortem
from incidents.engine import Engine, NotFoundError, TransitionError
from incidents.models import ActionItem, IngestResult, Note, State, Transition
from incidents.notify import Dispatcher, Worker
from incidents.oncall import OncallConfigError, shifts
from incidents.runbooks import Runbook, Runner

IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such incident."}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such incident."},
    409: {"description": "Not allowed from the incident's current state."},
}


class RunRequest(BaseModel):
    """Run a runbook for an incident."""

    model_config = ConfigDict(extra="forbid")
    actor: str = Field(min_length=1, max_length=100, pattern=r"^[\w.@-]+$")
    dry_run: bool = True
    approve: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=100
    )


def create_app(
    engine: Engine,
    *,
    dispatcher: Dispatcher | None = None,
    runbooks: dict[str, Runbook] | None = None,
    runner: Runner | None = None,
    worker_interval: float | None = 1.0,
) -> FastAPI:
    """The API over ``engine``; with ``worker_interval`` a background worker escalates and
    notifies (None: the caller drives ``engine.escalate`` and ``dispatcher.run_pending``)."""
    registry = new_registry()
    ingested = Counter(
        "incidents_alerts_ingested_total",
        "Alerts received, by outcome.",
        ("outcome",),
        registry=registry,
    )
    open_gauge = Gauge("incidents_open", "Incidents not resolved.", registry=registry)
    open_gauge.set_function(
        lambda: engine.db.rows("SELECT count(*) AS n FROM incidents WHERE state != 'resolved'")[0][
            "n"
        ]
    )
    books = runbooks or {}
    run = runner or Runner()
    worker = Worker(engine, dispatcher, worker_interval) if dispatcher and worker_interval else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if worker:
            worker.start()
        try:
            yield
        finally:
            if worker:
                worker.stop()

    app = FastAPI(
        title="incidents",
        version="0.1.0",
        description="Alertmanager webhooks in; deduplicated, correlated incidents with a "
        "lifecycle, escalation, runbooks and postmortems out.",
        lifespan=lifespan,
    )

    @app.post(
        "/webhooks/alertmanager",
        response_model=IngestResult,
        responses={
            422: {
                "description": "The envelope is invalid (nothing stored), or some "
                "alerts are: the valid ones are stored (`accepted`), the others listed "
                "in `detail`."
            }
        },
    )
    async def alertmanager(envelope: WebhookEnvelope) -> Any:
        """Alertmanager's webhook receiver: dedup, correlate, open or update incidents."""
        payload, errors = envelope.split()
        result = None
        if payload is not None:
            result = await run_in_threadpool(engine.ingest, payload)
            ingested.labels("new").inc(result.new_alerts)
            ingested.labels("duplicate").inc(result.duplicates)
            ingested.labels("resolved").inc(result.resolved)
            ingested.labels("unknown_resolved").inc(result.unknown_resolved)
        if errors:
            ingested.labels("invalid").inc(len({e["loc"][2] for e in errors}))
            accepted = result.model_dump() if result else None
            return JSONResponse(status_code=422, content={"detail": errors, "accepted": accepted})
        return result

    @app.get("/incidents")
    def list_incidents(
        state: State | None = None, limit: int = Query(100, ge=1, le=10_000)
    ) -> list[dict[str, Any]]:
        """Incidents, newest first."""
        return engine.incidents(state=state, limit=limit)

    @app.get("/incidents/{incident_id}", responses=NOT_FOUND)
    def get_incident(incident_id: IncidentId) -> dict[str, Any]:
        """One incident: alerts, timeline, notifications, action items."""
        try:
            return engine.incident(incident_id)
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None

    def move(incident_id: int, target: State, body: Transition) -> dict[str, Any]:
        try:
            return engine.transition(incident_id, target, body.actor, body.note)
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        except TransitionError as exc:
            raise HTTPException(409, str(exc)) from None

    @app.post("/incidents/{incident_id}/ack", responses=CONFLICT)
    def ack(incident_id: IncidentId, body: Transition) -> dict[str, Any]:
        """Acknowledge: someone is on it (stops the escalation)."""
        return move(incident_id, State.ACKNOWLEDGED, body)

    @app.post("/incidents/{incident_id}/mitigate", responses=CONFLICT)
    def mitigate(incident_id: IncidentId, body: Transition) -> dict[str, Any]:
        """Mitigated: the impact stopped, the cause may remain."""
        return move(incident_id, State.MITIGATED, body)

    @app.post("/incidents/{incident_id}/resolve", responses=CONFLICT)
    def resolve(incident_id: IncidentId, body: Transition) -> dict[str, Any]:
        """Resolved by hand."""
        return move(incident_id, State.RESOLVED, body)

    @app.post("/incidents/{incident_id}/notes", responses=NOT_FOUND)
    def note(incident_id: IncidentId, body: Note) -> dict[str, Any]:
        """Add a note to the timeline."""
        try:
            return engine.add_note(incident_id, body.actor, body.text)
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None

    @app.post("/incidents/{incident_id}/action-items", responses=NOT_FOUND)
    def action_item(incident_id: IncidentId, body: ActionItem) -> dict[str, Any]:
        """Add a postmortem action item."""
        try:
            return engine.add_action_item(
                incident_id, body.owner, body.text, body.priority, body.owner
            )
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None

    @app.get(
        "/incidents/{incident_id}/postmortem", response_class=PlainTextResponse, responses=NOT_FOUND
    )
    def get_postmortem(incident_id: IncidentId) -> str:
        """The postmortem draft, Markdown."""
        try:
            return postmortem.render(engine.incident(incident_id))
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None

    @app.get("/runbooks")
    def list_runbooks() -> list[dict[str, Any]]:
        """The runbooks loaded, with what they match."""
        return [
            {
                "name": b.name,
                "description": b.description,
                "match": b.match,
                "steps": [s.name for s in b.steps],
            }
            for b in books.values()
        ]

    @app.post(
        "/incidents/{incident_id}/runbooks/{name}",
        responses={
            404: {"description": "No such incident or runbook."},
            409: {"description": "The runbook matches none of the incident's alerts."},
        },
    )
    def run_runbook(
        incident_id: IncidentId, name: Annotated[str, Path(max_length=100)], body: RunRequest
    ) -> dict[str, Any]:
        """Run (or dry-run) a runbook for an incident; the result goes on its timeline."""
        book = books.get(name)
        if book is None:
            raise HTTPException(404, f"no runbook {name!r}")
        try:
            incident = engine.incident(incident_id)
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        # the runbook runs for the incident's first alert it matches (its labels fill the
        # templates); a runbook that matches none of them is refused
        alert = next((a for a in incident["alerts"] if book.matches(a["labels"])), None)
        if alert is None:
            raise HTTPException(
                409,
                f"runbook {name!r} matches no alert of incident {incident_id} "
                f"(it wants {book.match})",
            )
        result = run.run(
            book,
            alert["labels"],
            alert["annotations"],
            dry_run=body.dry_run,
            approved=set(body.approve),
        ).as_dict()
        engine.record(
            incident_id,
            "runbook",
            body.actor,
            f"runbook {name} {'dry run' if body.dry_run else 'run'}: {result['status']}",
            result,
        )
        return result

    @app.get("/oncall", responses={400: {"description": "No on-call file, or a bad range."}})
    def oncall(
        at: datetime | None = None,
        days: int = Query(7, ge=1, le=366),
    ) -> dict[str, Any]:
        """Who is on call now (or ``at``) and the shifts of the next ``days``."""
        moment = at or engine.clock.now()
        if moment.tzinfo is None:
            raise HTTPException(400, "'at' needs a timezone (e.g. 2026-12-05T10:00:00Z)")
        out: dict[str, Any] = {"at": moment.isoformat(), "schedules": {}}
        try:
            for name, schedule in engine.oncall.schedules.items():
                out["schedules"][name] = {
                    "now": schedule.on_call(moment),
                    "shifts": [
                        {
                            "user": s.user,
                            "start": s.start.isoformat(),
                            "end": s.end.isoformat(),
                            "override": s.override,
                        }
                        for s in shifts(engine.oncall, name, moment, moment + timedelta(days=days))
                    ],
                }
        except OncallConfigError as exc:
            raise HTTPException(400, str(exc)) from None
        return out

    @app.get("/analytics")
    def get_analytics() -> dict[str, Any]:
        """MTTA, MTTR, MTBF, noise and on-call load."""
        figures = analytics.compute(engine.db)
        return {k: v for k, v in figures.items() if k not in ("ttr_seconds", "tta_seconds")}

    @app.get("/audit")
    def audit(limit: int = Query(1000, ge=1, le=100_000)) -> list[dict[str, Any]]:
        """The audit log, oldest first."""
        return engine.audit_log(limit)

    @app.get("/healthz")
    def healthz() -> dict[str, Literal["ok"]]:
        """Liveness."""
        return {"status": "ok"}

    safe_validation_errors(app)
    document_framework_errors(app)
    instrument_app(app, prefix="incidents", registry=registry)
    return app
