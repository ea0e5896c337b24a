"""``modelop demo`` end to end, as ``aiinfra run 104-06`` runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo_shows_the_operator_at_work() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modelop", "demo"], capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "200"}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    assert "phase=Ready version=v1" in out
    assert "replicas=3 MODEL_VERSION=v2" in out
    assert "HorizontalPodAutoscaler │ recs" in out
    assert "broken: phase=Invalid" in out
    assert "Deployments left: ['recs-predictor']" in out
    assert "RollingUpdate" in out
