"""Connecting to the tracking server, and turning its errors into plain sentences."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from exptrack.errors import ExptrackError

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)
START_HINT = "start one with `aiinfra service mlflow` or let `exptrack demo` start its own"


def resolve_uri(uri: str | None) -> str:
    """The tracking URI to use: ``uri``, else ``$MLFLOW_TRACKING_URI``.

    Raises:
        ExptrackError: Neither is set.
    """
    chosen = uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not chosen:
        raise ExptrackError(
            f"no tracking server: pass --tracking-uri or set MLFLOW_TRACKING_URI ({START_HINT})"
        )
    return chosen.rstrip("/")


def check_server(uri: str, timeout: float = 5.0) -> None:
    """Fail fast when nothing answers at ``uri``.

    The mlflow client retries a dead server with back-off for minutes; a one-second look at
    ``/health`` first gives the user the real problem at once.

    Raises:
        ExptrackError: ``uri`` is not http(s) or no MLflow server answers there.
    """
    if not uri.startswith(("http://", "https://")):
        raise ExptrackError(
            f"tracking URI {uri!r} is not a server address: use http://host:port ({START_HINT})"
        )
    try:
        response = httpx.get(f"{uri}/health", timeout=timeout)
    except httpx.HTTPError as exc:
        raise ExptrackError(f"no MLflow server at {uri}: {exc} ({START_HINT})") from None
    if response.status_code != 200:
        raise ExptrackError(f"{uri}/health answered {response.status_code}: is it MLflow?")


def connect(uri: str | None, experiment: str | None = None, *, create: bool = True) -> MlflowClient:
    """Point mlflow at the server (and experiment) and return a client.

    Args:
        uri: Tracking URI, or None for ``$MLFLOW_TRACKING_URI``.
        experiment: Experiment to make active; None leaves it.
        create: Create the experiment when missing; otherwise a missing one is an error.

    Raises:
        ExptrackError: No server, or (``create=False``) no such experiment.
    """
    import mlflow

    resolved = resolve_uri(uri)
    check_server(resolved)
    mlflow.set_tracking_uri(resolved)
    client = mlflow.MlflowClient(tracking_uri=resolved)
    if experiment is not None:
        if not create and client.get_experiment_by_name(experiment) is None:
            raise ExptrackError(f"unknown experiment {experiment!r} on {resolved}")
        active = mlflow.set_experiment(experiment)
        reap_orphans(client, active.experiment_id)
    return client


def owner_tags() -> dict[str, str]:
    """Tags naming the process that runs a run: :func:`reap_orphans` reads them."""
    return {"exptrack.host": socket.gethostname(), "exptrack.pid": str(os.getpid())}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:  # a zombie has stopped: killed, not yet reaped
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def reap_orphans(client: MlflowClient, experiment_id: str) -> list[str]:
    """Mark FAILED the runs of this experiment that say RUNNING but whose process (on this
    host) is gone: a run killed with SIGKILL, or by a power cut, never ends itself, and would
    show as running for ever. Runs started on other hosts are left alone.

    Returns:
        The ids of the runs marked FAILED (each tagged ``exptrack.orphaned``).
    """
    host = socket.gethostname()
    found = client.search_runs(
        [experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.`exptrack.host` = '{host}'",
        max_results=1000,
    )
    reaped = []
    for run in found:
        pid = run.data.tags.get("exptrack.pid", "")
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        client.set_tag(run.info.run_id, "exptrack.orphaned", f"process {pid} on {host} is gone")
        client.set_terminated(run.info.run_id, status="FAILED")
        reaped.append(run.info.run_id)
    if reaped:
        log.warning("marked %d orphaned run(s) FAILED: %s", len(reaped), ", ".join(reaped))
    return reaped


@contextmanager
def mlflow_errors(what: str) -> Iterator[None]:
    """Re-raise mlflow's REST errors about ``what`` as one-line :class:`ExptrackError`."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        code = getattr(exc, "error_code", "")
        message = str(exc.message if hasattr(exc, "message") else exc).splitlines()[0]
        if code == "RESOURCE_DOES_NOT_EXIST":
            raise ExptrackError(f"{what}: not found ({message})") from None
        raise ExptrackError(f"{what}: {message}") from None
