"""End to end with the real pieces: a metric pushed to a Pushgateway, Prometheus evaluating the
shipped rule, Alertmanager delivering its webhook (and its repeats) to the service."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from incidents.config import Settings
from incidents.service import build
from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

from aiinfra_shared.services.prometheus import alertmanager, prometheus, pushgateway
from aiinfra_shared.testing.plugin import started

pytestmark = pytest.mark.integration
RULES = Path(__file__).resolve().parents[1] / "rules"


def push_accuracy(gateway: str, value: float) -> None:
    registry = CollectorRegistry()
    Gauge("ml_model_accuracy", "a", ("service", "model"), registry=registry).labels(
        "model-server", "fraud"
    ).set(value)
    pushadd_to_gateway(gateway.split("://")[-1], job="eval", registry=registry)


def wait(check: Callable[[], Any], timeout: float = 45) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got := check():
            return got
        time.sleep(0.25)
    raise AssertionError("timed out")


def test_a_real_alert_becomes_an_incident_and_resolves_it(
    request: pytest.FixtureRequest, tmp_path: Path, asgi_server: Callable[..., Any]
) -> None:
    service = build(
        Settings(
            db=tmp_path / "i.db", oncall=Path(__file__).parents[1] / "examples" / "oncall.yml"
        ),
        worker=False,
    )
    api = asgi_server(service.app)
    rules = yaml.safe_load((RULES / "ml-alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("for", None)
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    am_config = {
        "route": {
            "receiver": "incidents",
            "group_by": ["alertname", "service"],
            "group_wait": "0s",
            "group_interval": "1s",
            "repeat_interval": "2s",
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
    with (
        started(request.config, pushgateway(workdir=tmp_path / "pg")) as gateway,
        started(request.config, alertmanager(config=am_config, workdir=tmp_path / "am")) as am,
        started(
            request.config,
            prometheus(
                config={
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(tmp_path / "rules.yml")],
                    "alerting": {
                        "alertmanagers": [
                            {"static_configs": [{"targets": [f"{am.host}:{am.port}"]}]}
                        ]
                    },
                    "scrape_configs": [
                        {
                            "job_name": "pg",
                            "honor_labels": True,
                            "static_configs": [{"targets": [f"{gateway.host}:{gateway.port}"]}],
                        }
                    ],
                },
                workdir=tmp_path / "prom",
            ),
        ),
    ):
        push_accuracy(gateway.url, 0.72)
        incidents = wait(lambda: httpx.get(f"{api.url}/incidents").json())
        assert len(incidents) == 1
        inc = httpx.get(f"{api.url}/incidents/{incidents[0]['id']}").json()
        alert = inc["alerts"][0]
        assert alert["alertname"] == "ModelAccuracyLow"
        assert alert["labels"] | {"instance": "", "job": ""} == {
            "alertname": "ModelAccuracyLow",
            "service": "model-server",
            "model": "fraud",
            "severity": "page",
            "team": "ml",
            "instance": "",
            "job": "",
        }
        assert inc["severity"] == 1
        assert inc["policy"] == "ml"
        # Alertmanager re-sends the firing group every 2 s: folded into the same alert
        wait(
            lambda: (
                httpx.get(f"{api.url}/incidents/{inc['id']}").json()["alerts"][0]["repeats"] >= 1
            ),
            timeout=20,
        )
        push_accuracy(gateway.url, 0.95)
        resolved = wait(
            lambda: (
                (i := httpx.get(f"{api.url}/incidents/{inc['id']}").json())["state"] == "resolved"
                and i
            )
        )
        assert resolved["alerts"][0]["status"] == "resolved"
        assert len(httpx.get(f"{api.url}/incidents").json()) == 1
