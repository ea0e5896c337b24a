"""The service's HTTP contract, checked by schemathesis against its own OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiinfra_shared.testing.apicheck import run_schemathesis

pytestmark = pytest.mark.integration


def test_schemathesis_all_checks_pass(server: str, tmp_path: Path) -> None:
    junit = run_schemathesis(server, tmp_path)
    for operation in ("POST /predict", "POST /feedback", "POST /admin/faults"):
        assert operation in junit, f"{operation} was not exercised"
