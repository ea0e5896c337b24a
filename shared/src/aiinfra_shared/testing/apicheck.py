"""``schemathesis run --checks all`` against a live server's own OpenAPI document.

The house bar for every HTTP API: schemathesis generates valid and invalid requests for every
operation and checks every answer (no 5xx, status codes and bodies as documented, content
types, headers...). Zero failures. The CLI runs as a subprocess from the test environment
(schemathesis is in each API package's ``test`` group)::

    junit = run_schemathesis(server.url, tmp_path, headers={"X-API-Key": key})
    assert "POST /v1/predict" in junit
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def run_schemathesis(
    base_url: str,
    workdir: Path,
    *,
    openapi_path: str = "/openapi.json",
    max_examples: int = 40,
    headers: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
    timeout: float = 600,
    rejections: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """Run schemathesis with every check; fail the calling test on any failure.

    Args:
        base_url: The server (``http://127.0.0.1:PORT``).
        workdir: Where the JUnit report goes.
        openapi_path: The document's path on the server.
        max_examples: Generated cases per operation and phase.
        headers: Sent with every request (an API key, so authenticated routes are explored).
        extra: More CLI arguments (``--exclude-path``, ``--phases`` ...).
        timeout: Seconds allowed.
        rejections: ``"POST /path"`` -> statuses that operation may answer to a request its
            schema allows, because a rule the schema cannot express refused it (a file's
            type is in its name, a name already taken is a conflict). schemathesis's
            ``positive_data_acceptance`` check then accepts those, for that operation only;
            every other operation keeps the strict default.

    Returns:
        The JUnit XML report (to check which operations were exercised).
    """
    report = workdir / "schemathesis-junit.xml"
    command = [str(Path(sys.executable).parent / "schemathesis")]
    if rejections:
        config = workdir / "schemathesis.toml"
        blocks = []
        for operation, statuses in rejections.items():
            method, path = operation.split(" ", 1)
            allowed = ", ".join(f'"{s}"' for s in ["2xx", *statuses])
            blocks.append(
                f'[[operations]]\ninclude-method = "{method}"\ninclude-path = "{path}"\n'
                f"checks.positive_data_acceptance.expected-statuses = [{allowed}]\n"
            )
        config.write_text("\n".join(blocks))
        command += ["--config-file", str(config)]
    command += [
        "run",
        f"{base_url}{openapi_path}",
        "--checks",
        "all",
        "--max-examples",
        str(max_examples),
        "--seed",
        "7",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    command += list(extra)
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    junit = report.read_text()
    assert 'failures="0"' in junit, junit[-3000:]
    return junit
