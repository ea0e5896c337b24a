"""Build the service from settings: database, engine, dispatcher, runbooks, API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from incidents.api import create_app
from incidents.clock import Clock
from incidents.config import Settings
from incidents.correlation import DependencyMap
from incidents.db import Database
from incidents.engine import Engine
from incidents.notify import Dispatcher
from incidents.oncall import OncallConfig
from incidents.oncall import load as load_oncall
from incidents.runbooks import Runner
from incidents.runbooks import load_dir as load_runbooks


@dataclass
class Service:
    """The parts of a running incident service."""

    engine: Engine
    dispatcher: Dispatcher
    runner: Runner
    app: FastAPI


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    worker: bool = True,
    runbook_vars: dict[str, str] | None = None,
) -> Service:
    """Everything the settings describe (files are read and checked here: a bad one is an error
    before anything listens)."""
    oncall = load_oncall(settings.oncall) if settings.oncall else OncallConfig()
    deps = DependencyMap.load(settings.dependencies) if settings.dependencies else DependencyMap()
    books = load_runbooks(settings.runbooks) if settings.runbooks else {}
    engine = Engine(
        Database(settings.db),
        clock=clock,
        dependencies=deps,
        oncall=oncall,
        window=timedelta(minutes=settings.window_minutes),
    )
    dispatcher = Dispatcher(
        engine,
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        rate=settings.rate_per_minute,
        per=60.0,
        backoff=settings.retry_backoff,
    )
    runner = Runner(settings.prometheus_url, runbook_vars)
    app = create_app(
        engine,
        dispatcher=dispatcher,
        runbooks=books,
        runner=runner,
        worker_interval=settings.worker_interval if worker else None,
    )
    return Service(engine, dispatcher, runner, app)


def settings_summary(settings: Settings) -> dict[str, Any]:
    """What a person wants to see at start-up."""
    return {k: str(v) for k, v in settings.model_dump().items() if v is not None}
