"""Redis (Debian ``redis-server``) on loopback, in memory only."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiinfra_shared.services.base import (
    LOOPBACK,
    RunningService,
    find_binary,
    run_service,
    workdir_for,
)

INSTALL_HINT = "sudo apt-get install redis-server   (or: bash scripts/install-system-deps.sh)"


def _pong(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis(
    *, port: int | None = None, workdir: Path | str | None = None, timeout: float = 20.0
) -> Iterator[RunningService]:
    """Start ``redis-server`` with persistence off.

    Yields:
        The service; ``url`` is ``redis://127.0.0.1:PORT/0`` and ``env`` sets
        ``AIINFRA_REDIS_URL``.
    """
    binary = find_binary("redis-server", INSTALL_HINT)
    with (
        workdir_for("redis", workdir) as wd,
        run_service(
            "redis",
            argv=lambda p: [
                binary,
                "--bind",
                LOOPBACK,
                "--port",
                str(p),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(wd),
                "--protected-mode",
                "yes",
            ],
            ready=_pong,
            url=lambda p: f"redis://{LOOPBACK}:{p}/0",
            client_env=lambda p: {"AIINFRA_REDIS_URL": f"redis://{LOOPBACK}:{p}/0"},
            workdir=wd,
            port=port,
            timeout=timeout,
        ) as service,
    ):
        yield service
