"""The ``incidents`` command.

Exit codes: 0 done, 1 bad input (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from
from incidents.config import Settings
from incidents.errors import IncidentsError

app = package_app(
    "009-05: Alerting and incident response: Alertmanager webhooks into deduplicated, correlated "
    "incidents; on-call rotations and escalation; notifications; runbooks; postmortems; MTTR."
)
PACKAGE_ROOT = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    """A shipped folder: inside the wheel (incidents/NAME) or the source checkout."""
    for candidate in (PACKAGE_ROOT / name, PACKAGE_ROOT.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise IncidentsError(f"the {name} folder is missing from this install")


@app.command()
def demo(
    workdir: Annotated[
        Path | None, typer.Option(help="Where the demo writes (default: temp).")
    ] = None,
) -> None:
    """Break a model and a pipeline; watch alerts become one incident, escalate, get fixed by a
    runbook, resolve, and end in a postmortem and an MTTR report (under a minute)."""
    from incidents.demo import run

    run(workdir)


@app.command()
def serve(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 8095,
    db: Annotated[Path | None, typer.Option(help="SQLite database.")] = None,
    oncall: Annotated[Path | None, typer.Option(help="On-call file (rotations, policies).")] = None,
    dependencies: Annotated[Path | None, typer.Option(help="Service dependency map.")] = None,
    runbooks: Annotated[Path | None, typer.Option(help="Folder of runbook files.")] = None,
    smtp_port: Annotated[int | None, typer.Option(help="SMTP server port for e-mail.")] = None,
) -> None:
    """Run the incident service (point Alertmanager's webhook at /webhooks/alertmanager)."""
    import uvicorn

    from incidents.service import build

    settings = settings_from(
        Settings,
        IncidentsError,
        db=db,
        oncall=oncall,
        dependencies=dependencies,
        runbooks=runbooks,
        smtp_port=smtp_port,
    )
    service = build(settings)
    console.print(f"incidents on http://127.0.0.1:{port} (db {settings.db})")
    uvicorn.run(service.app, host="127.0.0.1", port=port, log_level="warning")


@app.command("oncall")
def oncall_cmd(
    file: Annotated[Path, typer.Argument(help="The on-call YAML file.")],
    at: Annotated[
        str | None, typer.Option(help="When (ISO 8601 with a zone; default now).")
    ] = None,
    days: Annotated[int, typer.Option(min=1, max=366, help="Shifts for this many days.")] = 7,
) -> None:
    """Check an on-call file, show who is on call and the coming shifts."""
    from incidents.oncall import load, shifts

    config = load(file)
    try:
        moment = datetime.fromisoformat(at) if at else datetime.now(UTC)
    except ValueError:
        raise IncidentsError(f"--at {at!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise IncidentsError("--at needs a time zone, e.g. 2026-12-05T10:00:00+01:00")
    for name, schedule in config.schedules.items():
        table = Table(
            "from",
            "to",
            "who",
            title=f"{name} ({schedule.timezone}): now {schedule.on_call(moment)}",
        )
        for shift in shifts(config, name, moment, moment + timedelta(days=days)):
            zone = schedule.zone
            table.add_row(
                shift.start.astimezone(zone).strftime("%a %d %b %H:%M"),
                shift.end.astimezone(zone).strftime("%a %d %b %H:%M"),
                shift.user + (" (override)" if shift.override else ""),
            )
        console.print(table)
    for name, steps in config.escalation_policies.items():
        console.print(
            f"policy {name}: "
            + " -> ".join(f"{s.after_minutes} min: {', '.join(s.notify)}" for s in steps)
        )


@app.command()
def runbook(
    file: Annotated[Path, typer.Argument(help="A runbook YAML file.")],
    label: Annotated[
        list[str] | None, typer.Option(help="Alert label name=value (repeat).")
    ] = None,
    var: Annotated[
        list[str] | None, typer.Option(help="Runbook variable name=value (repeat).")
    ] = None,
    prometheus: Annotated[str | None, typer.Option(help="Prometheus URL for query steps.")] = None,
    execute: Annotated[bool, typer.Option("--execute", help="Run it (default: dry run).")] = False,
    approve: Annotated[list[str] | None, typer.Option(help="Approve a risky step by name.")] = None,
) -> None:
    """Check a runbook and dry-run it (or run it with --execute) for an alert's labels."""
    from incidents.runbooks import Runner, load

    def pairs(items: list[str] | None, what: str) -> dict[str, str]:
        out = {}
        for item in items or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise IncidentsError(f"--{what} {item!r}: expected name=value")
            out[key] = value
        return out

    book = load(file)
    result = Runner(prometheus, pairs(var, "var")).run(
        book, pairs(label, "label"), dry_run=not execute, approved=set(approve or [])
    )
    table = Table("step", "status", "detail", title=f"{book.name}: {result.status}")
    for step in result.steps:
        table.add_row(step.name, step.status, step.detail)
    console.print(table)
    if result.status == "failed":
        raise IncidentsError(f"runbook {book.name} failed (table above)")


@app.command()
def report(
    db: Annotated[Path | None, typer.Option(help="SQLite database.")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the Markdown here.")] = None,
    png: Annotated[Path | None, typer.Option(help="Also write the plots here.")] = None,
) -> None:
    """MTTA, MTTR, MTBF, alert noise and on-call load from an incident database."""
    from incidents import analytics
    from incidents.db import Database

    settings = settings_from(Settings, IncidentsError, db=db)
    if not settings.db.is_file():
        raise IncidentsError(f"{settings.db}: no incident database there")
    figures = analytics.compute(Database(settings.db))
    text = analytics.markdown(figures)
    console.print(text, markup=False, highlight=False)
    if out:
        out.write_text(text)
    if png:
        console.print(f"wrote {analytics.plot(figures, png)}")


@app.command()
def postmortem(
    incident: Annotated[int, typer.Argument(min=1, help="Incident number.")],
    db: Annotated[Path | None, typer.Option(help="SQLite database.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write it here (default: print).")] = None,
) -> None:
    """The postmortem draft of one incident, from its timeline."""
    from incidents import postmortem as pm
    from incidents.db import Database
    from incidents.engine import Engine, NotFoundError

    settings = settings_from(Settings, IncidentsError, db=db)
    if not settings.db.is_file():
        raise IncidentsError(f"{settings.db}: no incident database there")
    try:
        text = pm.render(Engine(Database(settings.db)).incident(incident))
    except NotFoundError as exc:
        raise IncidentsError(str(exc)) from None
    if out:
        out.write_text(text)
        console.print(f"wrote {out}")
    else:
        console.print(text, markup=False, highlight=False)


@app.command("replay-storm")
def replay_storm(
    services: Annotated[int, typer.Option(min=1, max=1000)] = 10,
    alerts_per_service: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    repeats: Annotated[int, typer.Option(min=1, max=100)] = 10,
    url: Annotated[
        str | None, typer.Option(help="A running service (default: one in-process).")
    ] = None,
) -> None:
    """Send an alert storm through the webhook and report dedup, grouping and alerts/s."""
    import tempfile

    import httpx

    from incidents.storm import replay, storm

    payloads = storm(services=services, alerts_per_service=alerts_per_service, repeats=repeats)
    if url:
        with httpx.Client(base_url=url, timeout=60) as client:

            def post(payload: dict[str, object]) -> dict[str, object]:
                try:
                    response = client.post("/webhooks/alertmanager", json=payload)
                except httpx.HTTPError as exc:
                    raise IncidentsError(f"{url} is not reachable: {exc}") from None
                if response.status_code != 200:
                    raise IncidentsError(
                        f"{url} answered {response.status_code}: {response.text[:200]}"
                    )
                return dict(response.json())

            result = replay(post, payloads)
    else:  # straight into an engine on a temporary database (no HTTP in the way)
        from incidents.db import Database
        from incidents.engine import Engine
        from incidents.models import AlertmanagerWebhook

        with tempfile.TemporaryDirectory() as tmp:
            engine = Engine(Database(Path(tmp) / "storm.db"))
            result = replay(
                lambda p: engine.ingest(AlertmanagerWebhook.model_validate(p)).model_dump(),
                payloads,
            )
            engine.db.close()
    where = url or "an in-process engine"
    table = Table("measure", "value", title=f"alert storm into {where}")
    for name, value in result.rows():
        table.add_row(name, value)
    console.print(table)


@app.command("check-rules")
def check_rules() -> None:
    """promtool check + test the ML alert rules shipped with the package."""
    from aiinfra_shared.services.prometheus import run_promtool

    rules = _data_dir("rules")
    checked = run_promtool("check", "rules", str(rules / "ml-alerts.yml"))
    tested = run_promtool("test", "rules", "ml-alerts.test.yml", cwd=rules / "tests")
    console.print(checked.output, markup=False)
    console.print(tested.output, markup=False)
    if not (checked.ok and tested.ok):
        raise IncidentsError("the ML alert rules did not pass promtool (output above)")


main = run_typer(app)
