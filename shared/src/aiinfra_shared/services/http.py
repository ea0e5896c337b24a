"""Any HTTP server of our own (e.g. ``uvicorn``) as a subprocess on a free loopback port."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from aiinfra_shared.services.base import (
    LOOPBACK,
    RunningService,
    http_ok,
    run_service,
    workdir_for,
)


@contextmanager
def http_process(
    name: str,
    argv: Callable[[int], list[str]],
    *,
    health_path: str = "/healthz",
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    workdir: Path | str | None = None,
    timeout: float = 60.0,
) -> Iterator[RunningService]:
    """Start an HTTP server whose command line takes the port, wait for its health route.

    Example:
        >>> with http_process("api", lambda p: ["uvicorn", "app:app", "--port", str(p)]) as s:
        ...     httpx.get(f"{s.url}/healthz")

    Args:
        name: Name for logs.
        argv: Builds the command line for a port (bind it to 127.0.0.1).
        health_path: Path that answers 2xx once the server is ready.
        env: Extra environment for the server.
        port: Fixed port, or None for a free one.
        workdir: Folder for its log (temporary by default).
        timeout: Seconds to wait for readiness.

    Yields:
        The service; ``url`` is ``http://127.0.0.1:PORT``.
    """
    with (
        workdir_for(name, workdir) as wd,
        run_service(
            name,
            argv=argv,
            ready=lambda p: http_ok(f"http://{LOOPBACK}:{p}{health_path}"),
            url=lambda p: f"http://{LOOPBACK}:{p}",
            workdir=wd,
            port=port,
            timeout=timeout,
            env=env,
        ) as service,
    ):
        yield service
