"""An S3 API on loopback: moto in server mode (real boto3 calls, in-memory storage)."""

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

INSTALL_HINT = "uv pip install 'aiinfra-shared[s3]'  (or add the extra to your package)"

#: moto accepts any credentials; these keep boto3 from looking for real ones.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def s3(
    *, port: int | None = None, workdir: Path | str | None = None, timeout: float = 30.0
) -> Iterator[RunningService]:
    """Start ``moto_server``.

    Yields:
        The service; ``env`` sets ``AWS_ENDPOINT_URL_S3`` (honoured by boto3 itself),
        ``AIINFRA_S3_ENDPOINT_URL`` and dummy credentials.
    """
    binary = venv_script("moto_server", INSTALL_HINT)
    with (
        workdir_for("s3", workdir) as wd,
        run_service(
            "s3",
            argv=lambda p: [binary, "-H", LOOPBACK, "-p", str(p)],
            ready=lambda p: http_ok(f"http://{LOOPBACK}:{p}/moto-api/"),
            url=lambda p: f"http://{LOOPBACK}:{p}",
            client_env=lambda p: {
                "AWS_ENDPOINT_URL_S3": f"http://{LOOPBACK}:{p}",
                "AIINFRA_S3_ENDPOINT_URL": f"http://{LOOPBACK}:{p}",
                **CREDENTIALS,
            },
            workdir=wd,
            port=port,
            timeout=timeout,
        ) as service,
    ):
        yield service
