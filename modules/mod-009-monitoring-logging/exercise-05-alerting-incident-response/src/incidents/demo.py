"""`incidents demo`: a real Prometheus + Alertmanager feed the incident service; a feature
pipeline goes stale, then the model's accuracy drops; one correlated incident escalates,
a runbook (with an approval) rolls the model back, everything resolves, a postmortem and an
MTTR report come out."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import yaml
from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway
from rich.table import Table

from aiinfra_shared.cliapp import console
from aiinfra_shared.metrics import new_registry, serve_metrics
from aiinfra_shared.services.prometheus import alertmanager, prometheus, pushgateway
from aiinfra_shared.services.smtp import smtp_sink
from aiinfra_shared.testing.asgi import serve_in_thread
from incidents import analytics, oncall, postmortem
from incidents.clock import ManualClock
from incidents.config import Settings
from incidents.service import build
from incidents.storm import replay, storm

PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    for candidate in (PACKAGE / name, PACKAGE.parents[1] / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(name)


def model_server() -> FastAPI:
    """A model server whose accuracy the demo can break (deploy) and a runbook can fix
    (rollback)."""
    registry = new_registry()
    accuracy = Gauge(
        "ml_model_accuracy",
        "Accuracy on labelled traffic.",
        ("service", "model"),
        registry=registry,
    )
    accuracy.labels("model-server", "fraud").set(0.93)
    app = FastAPI()

    @app.post("/admin/deploy")
    def deploy(body: dict[str, float]) -> dict[str, float]:
        accuracy.labels("model-server", "fraud").set(body["accuracy"])
        return body

    @app.post("/admin/rollback")
    def rollback() -> dict[str, float]:
        accuracy.labels("model-server", "fraud").set(0.93)
        return {"accuracy": 0.93}

    serve_metrics(app, registry)
    return app


def chat_receiver(received: list[dict[str, Any]]) -> FastAPI:
    """A Slack/PagerDuty-style webhook that answers 503 to its first call (to show retries)."""
    app = FastAPI()
    calls = {"n": 0}

    @app.post("/chat")
    async def chat(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return Response(status_code=503, content="warming up")
        received.append(await request.json())
        return Response(status_code=200, content="ok")

    return app


def _push(gateway: str, pipeline_age_hours: float) -> None:
    registry = CollectorRegistry()
    Gauge(
        "ml_pipeline_last_success_timestamp_seconds",
        "Last success.",
        ("service", "pipeline"),
        registry=registry,
    ).labels("feature-store", "features-hourly").set(time.time() - pipeline_age_hours * 3600)
    pushadd_to_gateway(gateway.split("://")[-1], job="features-hourly", registry=registry)


def _wait(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    with console.status(what):
        while time.monotonic() < deadline:
            got = check()
            if got:
                return got
            time.sleep(0.3)
    raise TimeoutError(f"gave up waiting: {what}")


def run(workdir: Path | None = None) -> None:
    """Run the demo."""
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="incidents-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with ExitStack() as stack:
        box = stack.enter_context(smtp_sink())
        chats: list[dict[str, Any]] = []
        chat = stack.enter_context(serve_in_thread(chat_receiver(chats)))
        model = stack.enter_context(serve_in_thread(model_server()))
        # the on-call file, with chat pointing at the local receiver
        data = yaml.safe_load((_shipped("examples") / "oncall.yml").read_text())
        for contact in data["users"].values():
            if "chat" in contact:
                contact["chat"] = f"{chat.url}/chat"
        oncall_file = root / "oncall.yml"
        oncall_file.write_text(yaml.safe_dump(data))
        oncall.load(oncall_file)

        gateway = stack.enter_context(pushgateway(workdir=root / "pushgateway"))
        clock = ManualClock()
        settings = Settings(
            db=root / "incidents.db",
            oncall=oncall_file,
            dependencies=_shipped("examples") / "dependencies.yml",
            runbooks=_shipped("examples") / "runbooks",
            smtp_port=box.port,
            retry_backoff=0.1,
        )
        service = build(
            settings, clock=clock, worker=False, runbook_vars={"model_server": model.url}
        )
        api = stack.enter_context(serve_in_thread(service.app))
        am_config = {
            "route": {
                "receiver": "incidents",
                "group_by": ["alertname", "service"],
                "group_wait": "0s",
                "group_interval": "1s",
                "repeat_interval": "3s",
            },
            "receivers": [
                {
                    "name": "incidents",
                    "webhook_configs": [
                        {"url": f"{api.url}/webhooks/alertmanager", "send_resolved": True}
                    ],
                }
            ],
        }
        am = stack.enter_context(alertmanager(config=am_config, workdir=root / "alertmanager"))
        rules = yaml.safe_load((_shipped("rules") / "ml-alerts.yml").read_text())
        for group in rules["groups"]:  # demo timing: no `for`, so alerts fire on the next pass
            for rule in group["rules"]:
                rule.pop("for", None)
        rule_file = root / "ml-alerts-demo.yml"
        rule_file.write_text(yaml.safe_dump(rules))
        prom = stack.enter_context(
            prometheus(
                config=lambda p: {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(rule_file)],
                    "alerting": {
                        "alertmanagers": [
                            {"static_configs": [{"targets": [am.url.split("://")[-1]]}]}
                        ]
                    },
                    "scrape_configs": [
                        {
                            "job_name": "pushgateway",
                            "honor_labels": True,
                            "static_configs": [{"targets": [gateway.url.split("://")[-1]]}],
                        },
                        {
                            "job_name": "model-server",
                            "static_configs": [{"targets": [model.url.split("://")[-1]]}],
                        },
                    ],
                },
                workdir=root / "prometheus",
            )
        )
        service.runner.prometheus_url = prom.url  # known only now: Prometheus started last
        console.print(
            f"stack up in {time.monotonic() - started:.1f} s: Prometheus {prom.url}, "
            f"Alertmanager {am.url}, incidents {api.url}, SMTP {box.address}"
        )

        def incidents() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = httpx.get(f"{api.url}/incidents").json()
            return found

        def tick(label: str) -> None:
            queued = service.engine.escalate()
            outcome = service.dispatcher.run_pending()
            console.print(f"  [{label}] escalation queued {queued}, delivery {outcome}")

        console.rule("[bold]1. the feature pipeline stops succeeding")
        _push(gateway.url, pipeline_age_hours=4)
        first = _wait("FeaturePipelineStale -> Alertmanager -> incident", incidents)[0]
        console.print(
            f"incident #{first['id']}: {first['title']} (SEV{first['severity']}, "
            f"team {first['team']}, policy {first['policy']})"
        )
        tick("t+0")

        console.rule("[bold]2. a bad model is deployed: accuracy 0.72")
        httpx.post(f"{model.url}/admin/deploy", json={"accuracy": 0.72})
        joined = _wait(
            "ModelAccuracyLow joins the incident",
            lambda: [
                a
                for a in httpx.get(f"{api.url}/incidents/{first['id']}").json()["alerts"]
                if a["alertname"] == "ModelAccuracyLow"
            ],
        )
        inc = httpx.get(f"{api.url}/incidents/{first['id']}").json()
        console.print(
            f"{joined[0]['alertname']} joined #{first['id']}: "
            f"{[t['text'] for t in inc['timeline'] if 'depends' in t['text']]}; "
            f"severity now SEV{inc['severity']}"
        )
        time.sleep(4)  # Alertmanager re-sends the firing groups (repeat_interval 3 s)

        console.rule("[bold]3. nobody acknowledges: escalation")
        clock.advance(minutes=31)
        tick("t+31 min")
        _wait("e-mails delivered", lambda: len(box.messages) >= 2, timeout=10)
        for msg in box.messages:
            console.print(f"  e-mail to {msg['To']}: {msg['Subject']}")
        console.print(f"  chat messages: {len(chats)} (the receiver's first answer was a 503)")

        console.rule("[bold]4. on-call acknowledges and runs the runbook")
        clock.advance(minutes=2)
        on_call = oncall.load(oncall_file).schedules["ml-primary"].on_call(clock.now())
        httpx.post(f"{api.url}/incidents/{first['id']}/ack", json={"actor": on_call})
        for mode, body in (
            ("dry run", {"dry_run": True}),
            ("run", {"dry_run": False}),
            (
                "run, rollback approved",
                {"dry_run": False, "approve": ["roll back to the previous model"]},
            ),
        ):
            result = httpx.post(
                f"{api.url}/incidents/{first['id']}/runbooks/model-quality-drop",
                json={"actor": on_call, **body},
                timeout=30,
            ).json()
            console.print(f"  {mode}: {result['status']}")
            for step in result["steps"]:
                console.print(
                    f"    - {step['name']}: {step['status']} ({step['detail']})", highlight=False
                )
        httpx.post(
            f"{api.url}/incidents/{first['id']}/mitigate",
            json={"actor": on_call, "note": "rolled back to the previous model"},
        )

        console.rule("[bold]5. the pipeline is re-run; everything resolves")
        clock.advance(minutes=10)
        _push(gateway.url, pipeline_age_hours=0)
        final = _wait(
            "all alerts resolved -> incident resolved",
            lambda: (
                (i := httpx.get(f"{api.url}/incidents/{first['id']}").json())["state"] == "resolved"
                and i
            ),
        )
        httpx.post(
            f"{api.url}/incidents/{first['id']}/action-items",
            json={
                "owner": "erin",
                "text": "alert on pipeline staleness after 1 h, not 3 h",
                "priority": "P1",
            },
        )
        httpx.post(
            f"{api.url}/incidents/{first['id']}/action-items",
            json={"owner": on_call, "text": "gate deploys on offline accuracy >= 0.85"},
        )
        repeats = sum(a["repeats"] for a in final["alerts"])
        console.print(
            f"incident #{first['id']} resolved: {len(final['alerts'])} alerts, "
            f"{repeats} repeat notifications folded in, "
            f"{len(final['timeline'])} timeline entries"
        )
        text = postmortem.render(httpx.get(f"{api.url}/incidents/{first['id']}").json())
        (root / "postmortem.md").write_text(text)
        console.print("\n".join(text.splitlines()[:16]), markup=False, highlight=False)
        console.print(f"... full postmortem: {root / 'postmortem.md'}")

        console.rule("[bold]6. an alert storm, then the report")
        result = replay(
            lambda p: httpx.post(f"{api.url}/webhooks/alertmanager", json=p, timeout=60).json(),
            storm(services=8, alerts_per_service=25, repeats=10),
        )
        table = Table("measure", "value", title="alert storm through the real HTTP API")
        for name, value in result.rows():
            table.add_row(name, value)
        console.print(table)
        figures = analytics.compute(service.engine.db)
        (root / "report.md").write_text(analytics.markdown(figures))
        png = analytics.plot(figures, root / "report.png")
        console.print(
            analytics.markdown(figures).split("## On-call")[0], markup=False, highlight=False
        )
        console.print(f"report: {root / 'report.md'}, plots: {png}")
    console.print(f"demo done in {time.monotonic() - started:.1f} s")
