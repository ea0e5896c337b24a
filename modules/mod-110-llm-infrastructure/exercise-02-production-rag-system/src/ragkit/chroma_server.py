"""Run a real Chroma server (the ``chroma`` binary that the chromadb wheel installs).

Tests and learners use it to run ragkit the way the Kubernetes manifests do: the vector
database as its own process, the API as a client of it (``RAGKIT_CHROMA_URL``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiinfra_shared.services import RunningService, http_process
from aiinfra_shared.services.base import find_binary


def chroma_binary() -> str:
    """Path of ``chroma``: the one next to this interpreter, else the first on PATH."""
    local = Path(sys.executable).parent / "chroma"
    if local.is_file():
        return str(local)
    return find_binary(
        "chroma",
        "it comes with the chromadb package (uv run aiinfra exec 110-02 -- chroma --help)",
    )


@contextmanager
def chroma_server(path: Path, *, port: int | None = None,
                  timeout: float = 60.0) -> Iterator[RunningService]:  # fmt: skip
    """``chroma run`` on 127.0.0.1 with its data in ``path``; stopped on exit.

    Yields:
        The service; ``url`` is what ``RAGKIT_CHROMA_URL`` takes.
    """
    binary = chroma_binary()
    path.mkdir(parents=True, exist_ok=True)
    argv = [binary, "run", "--path", str(path), "--host", "127.0.0.1", "--port"]
    with http_process("chroma", lambda p: [*argv, str(p)], health_path="/api/v2/heartbeat",
                      port=port, workdir=path, timeout=timeout,
                      env={"ANONYMIZED_TELEMETRY": "False"}) as service:  # fmt: skip
        yield service
