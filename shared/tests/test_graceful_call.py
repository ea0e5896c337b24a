"""``envs.call``: a supervisor stopped by SIGTERM lets its child clean up (``subprocess.call``
would SIGKILL it, and the services the child started in their own process groups would leak)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

CHILD = """
import signal, sys, time
from pathlib import Path
folder = Path(sys.argv[1])
stop = False
def handler(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, handler)
(folder / "ready").write_text("")
while not stop:
    time.sleep(0.05)
time.sleep(1.0)  # stopping what it started takes a moment
(folder / "cleaned").write_text("")
"""

PARENT = """
import signal, sys
from aiinfra_shared import envs
def terminated(*_):  # what run_typer does: SIGTERM becomes an exception
    raise SystemExit(143)
signal.signal(signal.SIGTERM, terminated)
sys.exit(envs.call([sys.executable, sys.argv[1], sys.argv[2]]))
"""


def _wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_sigterm_to_the_supervisor_lets_the_child_clean_up(tmp_path: Path) -> None:
    child = tmp_path / "child.py"
    child.write_text(textwrap.dedent(CHILD))
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(PARENT), str(child), str(tmp_path)],
        start_new_session=True,
    )
    try:
        _wait_for(tmp_path / "ready")
        os.kill(parent.pid, signal.SIGTERM)  # the supervisor only, as `kill PID` does
        assert parent.wait(timeout=30) == 143
        assert (tmp_path / "cleaned").exists()  # the child was not SIGKILLed mid-cleanup
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)


def test_exit_code_is_the_childs(tmp_path: Path) -> None:
    from aiinfra_shared import envs

    assert envs.call([sys.executable, "-c", "raise SystemExit(7)"]) == 7
