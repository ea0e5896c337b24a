"""Start the whole stack on loopback and wire it together.

::

    ml-api ──/metrics──────────────────────────────┐
      │ OTLP traces + logs                         │ scrape (1 s)
      v                                            v
    Rotel collector ──OTLP──> store <──webhooks── Alertmanager <──alerts── Prometheus
                               (SQLite: spans,                    rules ──┘  │ scrape
                                logs, inbox)                                 v
                                                 node exporter, Pushgateway, Alertmanager, itself

Everything keeps its state under one data folder (Prometheus TSDB, Alertmanager silences,
Pushgateway groups, the store's database), so ``obsstack down`` then ``obsstack up`` finds the
history it had.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiinfra_shared.services.base import LOOPBACK, RunningService
from aiinfra_shared.services.http import http_process
from aiinfra_shared.services.otel import otel_collector
from aiinfra_shared.services.prometheus import (
    alertmanager,
    node_exporter,
    prometheus,
    pushgateway,
)
from obsstack import routing, rules


@dataclass(frozen=True)
class StackUrls:
    """Where each part of a running stack answers."""

    prometheus: str
    alertmanager: str
    pushgateway: str
    node_exporter: str
    collector: str
    store: str
    service: str

    def as_dict(self) -> dict[str, str]:
        """Name -> URL."""
        return asdict(self)


def prometheus_config(
    port: int, targets: dict[str, str], rule_file: Path, alertmanager_url: str, interval: str
) -> dict[str, Any]:
    """Prometheus' config: what it scrapes (with the labels alerts route on) and its rules.

    Args:
        port: Prometheus' own port (it scrapes itself).
        targets: ``service``, ``node``, ``pushgateway``, ``alertmanager`` -> ``host:port``.
        rule_file: The rules it evaluates.
        alertmanager_url: Where it sends alerts.
        interval: Scrape and evaluation interval.
    """

    def job(name: str, target: str, **labels: str) -> dict[str, Any]:
        static: dict[str, Any] = {"targets": [target]}
        if labels:
            static["labels"] = labels
        return {"job_name": name, "static_configs": [static]}

    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(rule_file)],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [alertmanager_url.split("://", 1)[-1]]}]}
            ]
        },
        "scrape_configs": [
            job("prometheus", f"{LOOPBACK}:{port}", team="platform"),
            job("ml-api", targets["service"], service="ml-api", team="ml"),
            job("node", targets["node"], team="platform"),
            # honor_labels: a pushed group keeps its own job/instance labels
            {**job("pushgateway", targets["pushgateway"], team="ml"), "honor_labels": True},
            job("alertmanager", targets["alertmanager"], team="platform"),
        ],
    }


def _hostport(service: RunningService) -> str:
    return f"{service.host}:{service.port}"


@contextmanager
def running_stack(
    data_dir: Path | str, *, scale: int = 60, fast: bool = True, interval: str = "1s"
) -> Iterator[StackUrls]:
    """Start every component with its state under ``data_dir``; stop them all on exit.

    Args:
        data_dir: Folder for state and logs (created; kept afterwards).
        scale: Time compression of the rules (60: a 1 h window is 1 m; 1: production).
        fast: Alertmanager notifies at once (demo/test timing) instead of after 30 s.
        interval: Scrape and rule evaluation interval.
    """
    root = Path(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    rule_file = rules.write(root / "rules" / "obsstack-rules.yml", scale=scale)
    with ExitStack() as stack:
        store = stack.enter_context(
            http_process(
                "store",
                lambda p: [
                    sys.executable,
                    "-m",
                    "obsstack",
                    "serve-store",
                    "--db",
                    str(root / "store" / "store.db"),
                    "--port",
                    str(p),
                ],
                workdir=root / "store",
                timeout=60,
            )
        )
        collector = stack.enter_context(
            otel_collector(workdir=root / "collector", export_to=store.url)
        )
        service = stack.enter_context(
            http_process(
                "ml-api",
                lambda p: [sys.executable, "-m", "obsstack", "serve-service", "--port", str(p)],
                env={**collector.env, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url},
                workdir=root / "ml-api",
                timeout=60,
            )
        )
        gateway = stack.enter_context(pushgateway(workdir=root / "pushgateway"))
        node = stack.enter_context(node_exporter(workdir=root / "node-exporter"))
        am_config = routing.build(f"{store.url}/webhooks", fast=fast)
        am = stack.enter_context(alertmanager(config=am_config, workdir=root / "alertmanager"))
        targets = {
            "service": _hostport(service),
            "node": _hostport(node),
            "pushgateway": _hostport(gateway),
            "alertmanager": _hostport(am),
        }
        prom = stack.enter_context(
            prometheus(
                config=lambda p: prometheus_config(p, targets, rule_file, am.url, interval),
                workdir=root / "prometheus",
            )
        )
        yield StackUrls(
            prometheus=prom.url,
            alertmanager=am.url,
            pushgateway=gateway.url,
            node_exporter=node.url,
            collector=collector.url,
            store=store.url,
            service=service.url,
        )


STATE_FILE = "state.json"


def read_state(data_dir: Path | str) -> dict[str, Any] | None:
    """The state ``obsstack up`` left (pid and URLs), or None when no stack is recorded."""
    path = Path(data_dir) / STATE_FILE
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return state
