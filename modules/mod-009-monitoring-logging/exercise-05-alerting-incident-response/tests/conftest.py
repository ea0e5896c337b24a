"""Fixtures: a controllable clock, an engine on a temp database, webhook payload builders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from incidents.clock import ManualClock
from incidents.correlation import DependencyMap
from incidents.db import Database
from incidents.engine import Engine
from incidents.models import AlertmanagerWebhook
from incidents.oncall import OncallConfig, parse

PACKAGE = Path(__file__).resolve().parents[1]
EXAMPLES = PACKAGE / "examples"
#: A Monday, 10:00 UTC (11:00 in Berlin): carol's week on ml-primary since 09:00.
T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def oncall_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "oncall.yml").read_text())
    return data


@pytest.fixture
def oncall_config(oncall_data: dict[str, Any]) -> OncallConfig:
    return parse(oncall_data)


@pytest.fixture
def engine(tmp_path: Path, clock: ManualClock, oncall_config: OncallConfig) -> Iterator[Engine]:
    db = Database(tmp_path / "incidents.db")
    yield Engine(
        db,
        clock=clock,
        dependencies=DependencyMap.load(EXAMPLES / "dependencies.yml"),
        oncall=oncall_config,
        window=timedelta(minutes=30),
    )
    db.close()


def _alert(
    name: str,
    service: str,
    status: str = "firing",
    severity: str = "page",
    team: str = "ml",
    **labels: str,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {
            "alertname": name,
            "service": service,
            "severity": severity,
            "team": team,
            **labels,
        },
        "annotations": {"summary": f"{name} on {service}"},
        "startsAt": "2026-12-07T09:59:00Z",
    }


def _webhook(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": "{}:{}",
        "status": alerts[0]["status"],
        "receiver": "incidents",
        "alerts": list(alerts),
    }


@pytest.fixture
def alert() -> Callable[..., dict[str, Any]]:
    """``alert(name, service, status=..., severity=..., team=..., **labels)``."""
    return _alert


@pytest.fixture
def webhook() -> Callable[..., dict[str, Any]]:
    """``webhook(*alerts)``: an Alertmanager v4 body."""
    return _webhook


@pytest.fixture
def ingest(engine: Engine) -> Callable[..., Any]:
    """Send alerts through the engine as one webhook."""
    return lambda *alerts: engine.ingest(AlertmanagerWebhook.model_validate(_webhook(*alerts)))
