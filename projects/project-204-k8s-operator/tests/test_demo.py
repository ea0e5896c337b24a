"""``trainop demo`` end to end, as ``aiinfra run 204`` runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo_runs_retries_refuses_and_admits() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "trainop", "demo"], capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "200"}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    assert "needs 2 GPUs; 8 of the namespace's 8 are in use" in out
    assert "retry 2 in 1 s" in out
    assert "attempt 2 completed" in out
    assert "MASTER_ADDR=resnet-attempt-1-0.resnet.default.svc" in out
    assert (
        "resnet's children left after success: ['PersistentVolumeClaim resnet-checkpoints']" in out
    )
