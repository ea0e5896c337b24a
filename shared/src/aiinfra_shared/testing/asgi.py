"""A real uvicorn server for an ASGI app, in a thread of the test process.

For tests that need HTTP over a socket (Prometheus scraping an app, an OpenAI client, a
second process calling in) but want the app object in hand. uvicorn is imported lazily: it
comes with the package under test, not with aiinfra-shared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiinfra_shared.services.base import LOOPBACK, free_port


@dataclass
class ServedApp:
    """A running in-thread server.

    Attributes:
        app: The ASGI app it serves.
        host: 127.0.0.1.
        port: Its port.
        url: ``http://127.0.0.1:<port>``.
        server: The ``uvicorn.Server``.
    """

    app: Any
    host: str
    port: int
    url: str
    server: Any


@contextmanager
def serve_in_thread(
    app: Any, *, port: int | None = None, startup_timeout: float = 60.0, **config: Any
) -> Iterator[ServedApp]:
    """Serve ``app`` with uvicorn on a loopback port until the block ends.

    Args:
        app: The ASGI app (its lifespan runs: startup before the yield, shutdown after).
        port: The port (an app that must know its own address picks one with ``free_port``
            first); default: a free one.
        startup_timeout: Seconds to wait for the server to accept connections.
        **config: More ``uvicorn.Config`` arguments (``log_level`` defaults to ``warning``).

    Yields:
        The running server.

    Raises:
        RuntimeError: It did not start (its lifespan failed, or the timeout passed).
    """
    import uvicorn

    port = port or free_port()
    options: dict[str, Any] = {"host": LOOPBACK, "port": port, "log_level": "warning"}
    options.update(config)
    server = uvicorn.Server(uvicorn.Config(app, **options))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn exited during startup (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start within {startup_timeout:.0f} s")
        time.sleep(0.02)
    try:
        url = f"http://{LOOPBACK}:{port}"
        yield ServedApp(app=app, host=LOOPBACK, port=port, url=url, server=server)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
