"""The store's and the service's HTTP contracts, checked by schemathesis against their OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from obsstack.service import create_app as service_app
from obsstack.store import create_app as store_app

from aiinfra_shared.testing.apicheck import run_schemathesis

pytestmark = pytest.mark.integration


def test_store_passes_schemathesis(asgi_server: Callable[..., Any], tmp_path: Path) -> None:
    served = asgi_server(store_app(tmp_path / "store.db"))
    # Any bytes are a schema-valid protobuf body, and a JSON body may hold a known OTLP field
    # with the wrong type: the OTLP routes may answer those with 400 (and say why).
    otlp = {f"POST /v1/{kind}": ["400"] for kind in ("traces", "logs", "metrics")}
    # a query string the LogQL grammar refuses (schemathesis applies a GET entry to every GET
    # operation, so the 404 of an unknown trace id is listed with it)
    otlp["GET /api/logs"] = ["400", "404"]
    junit = run_schemathesis(served.url, tmp_path, max_examples=25, rejections=otlp)
    for operation in ("POST /v1/logs", "POST /webhooks/{receiver}", "GET /api/logs"):
        assert operation in junit, f"{operation} was not exercised"


def test_service_passes_schemathesis(asgi_server: Callable[..., Any], tmp_path: Path) -> None:
    # The fault switch does what it says (error_rate=1 makes every /predict a 500), so the
    # serving routes are checked with it left alone, then the switch on its own.
    served = asgi_server(service_app(seed=1))
    (tmp_path / "serving").mkdir()
    junit = run_schemathesis(
        served.url, tmp_path / "serving", max_examples=25, extra=["--exclude-path", "/admin/faults"]
    )
    assert "POST /predict" in junit
    (tmp_path / "faults").mkdir()
    junit = run_schemathesis(
        served.url,
        tmp_path / "faults",
        max_examples=25,
        extra=["--include-path", "/admin/faults", "--phases", "examples,coverage,fuzzing"],
    )
    assert "PUT /admin/faults" in junit
