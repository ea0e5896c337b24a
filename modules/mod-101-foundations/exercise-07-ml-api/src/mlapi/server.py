"""The API as a real uvicorn subprocess on a free loopback port (demo, benchmark, tests)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiinfra_shared.services import RunningService, http_process


def uvicorn_argv(port: int, log_level: str = "warning") -> list[str]:
    """The command line that serves ``mlapi.app:create_app`` on 127.0.0.1:``port``."""
    return [
        sys.executable, "-m", "uvicorn", "mlapi.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", log_level,
    ]  # fmt: skip


@contextmanager
def server_process(
    model_dir: Path,
    *,
    api_key: str | None = None,
    health_path: str = "/readyz",
    workdir: Path | None = None,
    timeout: float = 180.0,
    extra_env: dict[str, str] | None = None,
) -> Iterator[RunningService]:
    """Start the server on ``model_dir``, wait for ``health_path``, stop it afterwards."""
    env = {"MLAPI_MODEL_DIR": str(Path(model_dir).resolve()), **(extra_env or {})}
    if api_key:
        env["MLAPI_API_KEY"] = api_key
    with http_process(
        "mlapi", uvicorn_argv, health_path=health_path, env=env, workdir=workdir, timeout=timeout
    ) as server:
        yield server
