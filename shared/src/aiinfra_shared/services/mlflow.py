"""A real ``mlflow server``: SQLite backend store and a local artifact root.

Seen on the course machines: ~36 s to become healthy with default workers and ~2.9 GB RSS;
one worker is plenty for tests and demos, so that is the default. Start it once per test
session (the ``mlflow_service`` fixture is session-scoped).

mlflow 3 also starts a job runner and a pool of five Huey consumers next to the server, for
GenAI evaluation jobs and trace roll-ups. Tracking and the model registry do not use them, and
on a 2-core machine they slowed start-up past three minutes, so they are off
(``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``) unless ``job_execution=True``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiinfra_shared.services._python_tools import venv_script
from aiinfra_shared.services.base import (
    LOOPBACK,
    RunningService,
    http_ok,
    run_service,
    workdir_for,
)

INSTALL_HINT = "uv pip install 'aiinfra-shared[mlflow]'  (or add the extra to your package)"


@contextmanager
def mlflow(
    *,
    backend_store_uri: str | None = None,
    workers: int = 1,
    job_execution: bool = False,
    port: int | None = None,
    workdir: Path | str | None = None,
    timeout: float = 180.0,
) -> Iterator[RunningService]:
    """Start ``mlflow server`` on loopback.

    Args:
        backend_store_uri: Tracking store; default ``sqlite:///<workdir>/mlflow.db``
            (a ``postgresql://`` URL from the postgres launcher works too).
        workers: Server worker processes.
        job_execution: Start mlflow's job runner too (GenAI jobs; not needed for tracking).
        port: Fixed port, or None for a free one.
        workdir: Folder for the database and artifacts (temporary by default).
        timeout: Seconds to wait for ``/health``.

    Yields:
        The service; ``env`` sets ``MLFLOW_TRACKING_URI``.
    """
    binary = venv_script("mlflow", INSTALL_HINT)
    with workdir_for("mlflow", workdir) as wd:
        store = backend_store_uri or f"sqlite:///{wd / 'mlflow.db'}"
        artifacts = wd / "artifacts"
        artifacts.mkdir(exist_ok=True)
        with run_service(
            "mlflow",
            argv=lambda p: [
                binary,
                "server",
                "--backend-store-uri",
                store,
                "--artifacts-destination",
                str(artifacts),
                "--host",
                LOOPBACK,
                "--port",
                str(p),
                "--workers",
                str(workers),
            ],
            ready=lambda p: http_ok(f"http://{LOOPBACK}:{p}/health"),
            url=lambda p: f"http://{LOOPBACK}:{p}",
            client_env=lambda p: {"MLFLOW_TRACKING_URI": f"http://{LOOPBACK}:{p}"},
            workdir=wd,
            port=port,
            timeout=timeout,
            env={
                "MLFLOW_ENABLE_WORKSPACES": "false",
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "true" if job_execution else "false",
            },
            extra={"backend_store_uri": store, "artifacts": artifacts},
        ) as service:
            yield service
