"""The service's HTTP contract, checked by schemathesis against its own OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiinfra_shared.testing.apicheck import run_schemathesis

pytestmark = pytest.mark.integration


def test_schemathesis_all_checks_pass(server: str, tmp_path: Path) -> None:
    # Fault injection does what it says: once schemathesis's stateful phase has set
    # error_rate=1 or latency_ms=10000, every /predict is a 503 or takes 10 s. So the serving
    # routes are checked with the fault switch left alone, and the switch on its own (no
    # stateful phase, so it never feeds /predict); then it is switched off again.
    (tmp_path / "serving").mkdir()
    junit = run_schemathesis(server, tmp_path / "serving",
                             extra=["--exclude-path", "/admin/faults"])  # fmt: skip
    for operation in ("POST /predict", "POST /feedback"):
        assert operation in junit, f"{operation} was not exercised"
    (tmp_path / "faults").mkdir()
    junit = run_schemathesis(server, tmp_path / "faults",
                             extra=["--include-path", "/admin/faults",
                                    "--phases", "examples,coverage,fuzzing"])  # fmt: skip
    assert "POST /admin/faults" in junit
