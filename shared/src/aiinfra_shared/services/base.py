"""The machinery every launcher shares: free ports, readiness probes, start/stop by PID.

A launcher is a context manager that starts ONE real server as a subprocess bound to
127.0.0.1 on a free port, waits until it answers, yields a :class:`RunningService`, and on
exit stops the whole process group (SIGTERM, then SIGKILL after a grace period). If the
server dies before it is ready (e.g. someone took the port in between), it is retried on a
new port; after the last attempt the error carries the tail of the server's log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiinfra_shared.errors import AiinfraError

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class ServiceError(AiinfraError):
    """A service could not be started or did not become ready."""


class ServiceNotInstalledError(ServiceError):
    """The binary a launcher needs is missing; the message names the install command."""


def free_port(host: str = LOOPBACK) -> int:
    """Ask the kernel for a free TCP port on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def find_binary(name: str, install_hint: str, candidates: Sequence[str | Path] = ()) -> str:
    """Locate an executable on PATH or among ``candidates`` (globs allowed).

    Args:
        name: The executable's name, looked up on PATH first.
        install_hint: The command that installs it, quoted in the error.
        candidates: Extra paths or glob patterns tried in order (newest match first).

    Returns:
        The absolute path.

    Raises:
        ServiceNotInstalledError: When nothing is found.
    """
    found = shutil.which(name)
    if found:
        return found
    for candidate in candidates:
        pattern = str(candidate)
        matches = (
            sorted(Path("/").glob(pattern.lstrip("/")), reverse=True)
            if "*" in pattern
            else [Path(pattern)]
        )
        for path in matches:
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    raise ServiceNotInstalledError(f"'{name}' is not installed; install it with: {install_hint}")


def tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True when ``GET url`` answers with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback URL we built)
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class RunningService:
    """A started service: where it listens, how to reach it, and how to stop it.

    Attributes:
        name: Launcher name (``redis``, ``mlflow``...).
        host: Always 127.0.0.1.
        port: The port it listens on.
        url: The client URL (``redis://127.0.0.1:PORT/0``, ``http://...``).
        process: The subprocess.
        workdir: Its data and log folder.
        env: Environment variables a client process needs to find it.
        extra: Launcher-specific facts (paths to config files, credentials...).
    """

    name: str
    host: str
    port: int
    url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    stop_signal: int = signal.SIGTERM

    @property
    def log_path(self) -> Path:
        """The file holding the server's stdout and stderr."""
        return self.workdir / f"{self.name}.log"

    @property
    def pid(self) -> int:
        """The server's PID (leader of its own process group)."""
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines the server printed."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server's whole process group; SIGKILL what outlives ``grace`` seconds."""
        stop_process_group(self.process, self.stop_signal, grace)


def stop_process_group(process: subprocess.Popen[bytes], sig: int, grace: float) -> None:
    """Signal a process group led by ``process`` and reap it, escalating to SIGKILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        logger.warning("pid %s ignored signal %s for %.0fs: killing", process.pid, sig, grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)
    # Children that left the group leader behind (workers) go with the group too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def workdir_for(name: str, workdir: Path | str | None) -> Iterator[Path]:
    """Yield ``workdir`` (created) or a temporary folder removed afterwards."""
    if workdir is not None:
        path = Path(workdir)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix=f"aiinfra-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def run_service(
    name: str,
    *,
    argv: Callable[[int], list[str]],
    ready: Callable[[int], bool],
    url: Callable[[int], str],
    workdir: Path,
    client_env: Callable[[int], Mapping[str, str]] = lambda _port: {},
    port: int | None = None,
    timeout: float = 30.0,
    attempts: int = 3,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    stop_signal: int = signal.SIGTERM,
    extra: Mapping[str, Any] | None = None,
) -> Iterator[RunningService]:
    """Start a server subprocess, wait until ``ready(port)``, yield it, stop it.

    Args:
        name: Short name, used for the log file and messages.
        argv: Builds the command line for a port.
        ready: Returns True once the server answers on that port.
        url: Builds the client URL for a port.
        workdir: Folder for the server's data and log.
        client_env: Builds the environment variables clients need.
        port: A fixed port (no retries), or None for a free one.
        timeout: Seconds to wait for readiness per attempt.
        attempts: Start attempts on fresh ports when the server dies early.
        env: Extra environment for the server process.
        user: Run the server as this user (e.g. ``postgres`` when we are root).
        stop_signal: The signal that asks it to shut down cleanly.
        extra: Launcher facts copied into :attr:`RunningService.extra`.

    Yields:
        The running service.

    Raises:
        ServiceError: When it does not become ready.
    """
    log_path = workdir / f"{name}.log"
    process_env = {**os.environ, **(env or {})}
    tries = 1 if port is not None else attempts
    last_error = ""
    for attempt in range(1, tries + 1):
        chosen = port if port is not None else free_port()
        command = argv(chosen)
        logger.debug("starting %s: %s", name, " ".join(command))
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=workdir,
                env=process_env,
                start_new_session=True,
                user=user,
            )
        service = RunningService(
            name=name,
            host=LOOPBACK,
            port=chosen,
            url=url(chosen),
            process=process,
            workdir=workdir,
            env=dict(client_env(chosen)),
            extra=dict(extra or {}),
            stop_signal=stop_signal,
        )
        started = time.monotonic()
        try:
            while True:
                if process.poll() is not None:
                    last_error = f"{name} exited with code {process.returncode} before it was ready"
                    break
                if ready(chosen):
                    logger.info(
                        "%s ready at %s (pid %s, %.1fs)",
                        name,
                        service.url,
                        process.pid,
                        time.monotonic() - started,
                    )
                    break
                if time.monotonic() - started > timeout:
                    last_error = f"{name} did not become ready within {timeout:.0f}s"
                    break
                time.sleep(0.1)
        except BaseException:
            service.stop()
            raise
        if not last_error:
            try:
                yield service
            finally:
                service.stop()
                logger.info("%s stopped (pid %s)", name, process.pid)
            return
        tail = service.log_tail()
        service.stop()
        logger.warning("attempt %d/%d: %s", attempt, tries, last_error)
        if attempt == tries:
            raise ServiceError(f"{last_error}; last lines of {log_path}:\n{tail}")
        last_error = ""
