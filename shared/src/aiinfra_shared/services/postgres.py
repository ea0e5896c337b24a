"""PostgreSQL (Debian ``postgresql``) on loopback: a throwaway cluster per launch.

``initdb`` and ``postgres`` refuse to run as root, so when we are root the cluster is
created and run as the ``postgres`` system user, in a folder that user owns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiinfra_shared.services.base import (
    LOOPBACK,
    RunningService,
    ServiceError,
    find_binary,
    run_service,
)

INSTALL_HINT = "sudo apt-get install postgresql   (or: bash scripts/install-system-deps.sh)"
PG_BIN_GLOBS = ("/usr/lib/postgresql/*/bin/{name}", "/usr/local/pgsql/bin/{name}")


def _pg_binary(name: str) -> str:
    return find_binary(name, INSTALL_HINT, [g.format(name=name) for g in PG_BIN_GLOBS])


@contextmanager
def postgres(
    *,
    port: int | None = None,
    user: str = "postgres",
    database: str = "postgres",
    timeout: float = 30.0,
) -> Iterator[RunningService]:
    """Create a cluster with ``initdb`` (trust auth, loopback only) and run ``postgres``.

    Durability is traded for speed (``fsync=off``): the cluster is thrown away afterwards.

    Args:
        port: Fixed port, or None for a free one.
        user: The database superuser name.
        database: Database named in the URL.
        timeout: Seconds to wait for readiness.

    Yields:
        The service; ``url`` is ``postgresql://USER@127.0.0.1:PORT/DB`` and ``env`` sets
        ``AIINFRA_POSTGRES_URL``.
    """
    initdb, server, isready = (_pg_binary(n) for n in ("initdb", "postgres", "pg_isready"))
    run_as: str | None = None
    wd = Path(tempfile.mkdtemp(prefix="aiinfra-postgres-"))
    try:
        if os.geteuid() == 0:
            run_as = "postgres"
            try:
                account = pwd.getpwnam(run_as)
            except KeyError as exc:
                raise ServiceError(
                    f"running as root needs the 'postgres' system user; {INSTALL_HINT}"
                ) from exc
            os.chown(wd, account.pw_uid, account.pw_gid)
        data = wd / "data"
        result = subprocess.run(
            [
                initdb,
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                user,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            user=run_as,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")

        def ready(p: int) -> bool:
            check = subprocess.run(
                [isready, "-h", LOOPBACK, "-p", str(p), "-U", user, "-q"], check=False
            )
            return check.returncode == 0

        def url(p: int) -> str:
            return f"postgresql://{user}@{LOOPBACK}:{p}/{database}"

        with run_service(
            "postgres",
            argv=lambda p: [
                server,
                "-D",
                str(data),
                "-h",
                LOOPBACK,
                "-p",
                str(p),
                "-k",
                str(wd),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            ready=ready,
            url=url,
            client_env=lambda p: {"AIINFRA_POSTGRES_URL": url(p)},
            workdir=wd,
            port=port,
            timeout=timeout,
            user=run_as,
            stop_signal=signal.SIGINT,  # "fast" shutdown: SIGTERM would wait for clients
        ) as service:
            yield service
    finally:
        shutil.rmtree(wd, ignore_errors=True)
