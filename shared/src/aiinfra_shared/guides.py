"""The step-by-step guides' checkpoints: machine-readable, run in order, kept passing.

A checkpoint in ``docs/STEP_BY_STEP.md`` is a fenced ``bash`` block right after a marker
comment (invisible when the Markdown is rendered)::

    <!-- checkpoint -->
    ```bash
    uv run aiinfra exec 101-07 -- pytest tests/test_data.py -q
    ```

Every command runs from the repository root (``aiinfra exec`` moves into the package's
folder). The marker takes options:

- ``slow``: not run by ``--quick`` (what CI runs); ``aiinfra guide check <id>`` runs it;
- ``timeout=N``: seconds before it counts as failed (default 300);
- ``expect="text"``: the output must contain this text;
- ``background`` with ``ready=URL``: start the command (a server), wait until ``URL`` answers
  with HTTP 2xx, leave it running for the next checkpoints; it is stopped when the run ends.

``aiinfra guide check <id>`` runs them in order and stops at the first failure (later steps
build on earlier ones). ``--fresh`` uses throwaway package environments and progress file,
as a new clone would.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiinfra_shared import workspace
from aiinfra_shared.errors import AiinfraError

GUIDE = "docs/STEP_BY_STEP.md"
DEFAULT_TIMEOUT = 300.0
MARKER = re.compile(r"^<!--\s*checkpoint\b(?P<options>.*?)-->\s*$")
STEP = re.compile(r"^##\s+(?P<number>\d+)\.\s+(?P<title>.+?)\s*$")
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w-]*)\s*$")
SHELLS = {"bash", "sh", "shell", "console"}


class GuideError(AiinfraError):
    """A guide is malformed (a marker without a block, an unknown option...)."""


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint of a guide.

    Attributes:
        step: The step number it belongs to (0 before the first step).
        step_title: That step's title.
        line: Line of the code block in the guide (1-based).
        command: The shell script, run with ``bash -eo pipefail`` from the repository root.
        slow: Left out of ``--quick`` runs.
        timeout: Seconds allowed.
        expect: Text the output must contain ("" for none).
        background: Started and left running (a server) once ``ready`` answers.
        ready: URL probed for a background checkpoint.
    """

    step: int
    step_title: str
    line: int
    command: str
    slow: bool = False
    timeout: float = DEFAULT_TIMEOUT
    expect: str = ""
    background: bool = False
    ready: str = ""

    @property
    def summary(self) -> str:
        """The command's first line (what a table shows)."""
        first = self.command.strip().splitlines()[0] if self.command.strip() else ""
        first = first.removesuffix("\\").rstrip()
        return first if len(first) <= 90 else first[:87] + "..."


@dataclass(frozen=True)
class Step:
    """A ``## N. Title`` section."""

    number: int
    title: str
    line: int


@dataclass
class Guide:
    """A parsed guide."""

    path: Path
    steps: list[Step] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)

    def steps_without_checkpoint(self) -> list[Step]:
        """Steps that have no checkpoint of their own."""
        covered = {c.step for c in self.checkpoints}
        return [s for s in self.steps if s.number not in covered]


def _options(text: str, where: str) -> dict[str, str | bool]:
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise GuideError(f"{where}: bad checkpoint options {text!r}: {exc}") from None
    options: dict[str, str | bool] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if key not in {"slow", "timeout", "expect", "background", "ready"}:
            raise GuideError(f"{where}: unknown checkpoint option {key!r}")
        options[key] = value if sep else True
    return options


def parse(path: Path) -> Guide:
    """Read a guide's steps and checkpoints.

    Raises:
        GuideError: A marker not followed by a shell block, or bad options.
    """
    lines = path.read_text().splitlines()
    guide = Guide(path)
    step, title = 0, ""
    i = 0
    while i < len(lines):
        heading = STEP.match(lines[i])
        if heading:
            step, title = int(heading["number"]), heading["title"]
            guide.steps.append(Step(step, title, i + 1))
        marker = MARKER.match(lines[i].strip())
        if marker:
            where = f"{path}:{i + 1}"
            options = _options(marker["options"], where)
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            fence = FENCE.match(lines[j].strip()) if j < len(lines) else None
            if fence is None or fence["lang"] not in SHELLS:
                raise GuideError(f"{where}: a checkpoint marker must precede a ```bash block")
            body: list[str] = []
            k = j + 1
            while k < len(lines) and lines[k].strip() != fence["fence"]:
                body.append(lines[k])
                k += 1
            if k == len(lines):
                raise GuideError(f"{where}: the checkpoint's code block is not closed")
            if options.get("background") and not options.get("ready"):
                raise GuideError(f"{where}: a background checkpoint needs ready=URL")
            try:
                timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
            except ValueError:
                raise GuideError(f"{where}: timeout must be a number of seconds") from None
            guide.checkpoints.append(
                Checkpoint(
                    step=step,
                    step_title=title,
                    line=j + 2,
                    command="\n".join(body).strip(),
                    slow=bool(options.get("slow")),
                    timeout=timeout,
                    expect=str(options.get("expect", "")) if options.get("expect") else "",
                    background=bool(options.get("background")),
                    ready=str(options.get("ready", "")),
                )
            )
            i = k
        i += 1
    return guide


def guide_for(member: workspace.Member) -> Guide:
    """The member's parsed guide.

    Raises:
        GuideError: It has none.
    """
    path = member.path / GUIDE
    if not path.is_file():
        raise GuideError(f"{member.id} has no {GUIDE}")
    return parse(path)


@dataclass
class Outcome:
    """What running one checkpoint gave."""

    checkpoint: Checkpoint
    status: str  # passed, failed, skipped
    seconds: float = 0.0
    output: str = ""
    reason: str = ""


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (a guide's loopback URL)
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextlib.contextmanager
def fresh_environment() -> Iterator[dict[str, str]]:
    """Environment overrides of a fresh clone: throwaway package envs and progress file."""
    with tempfile.TemporaryDirectory(prefix="aiinfra-guide-") as tmp:
        yield {
            "AIINFRA_VENVS": str(Path(tmp) / "venvs"),
            "AIINFRA_PROGRESS": str(Path(tmp) / "progress.json"),
        }


def run_checkpoints(
    root: Path,
    guide: Guide,
    *,
    quick: bool = False,
    env: dict[str, str] | None = None,
    on_start: Callable[[Checkpoint], None] = lambda _c: None,
) -> list[Outcome]:
    """Run a guide's checkpoints in order from ``root``; stop at the first failure.

    Args:
        root: The repository root (every command's working folder).
        guide: The parsed guide.
        quick: Skip ``slow`` checkpoints.
        env: Extra environment (``fresh_environment()``).
        on_start: Called before each checkpoint runs (progress display).

    Returns:
        One outcome per checkpoint (those after a failure are ``skipped``).
    """
    # A wide virtual terminal: Rich tables in the output keep whole words for `expect=`.
    process_env = {**os.environ, "COLUMNS": "200", **(env or {}), "AIINFRA_ROOT": str(root)}
    process_env.pop("VIRTUAL_ENV", None)
    outcomes: list[Outcome] = []
    background: list[subprocess.Popen[bytes]] = []
    failed = False
    try:
        for checkpoint in guide.checkpoints:
            if failed:
                outcomes.append(Outcome(checkpoint, "skipped", reason="an earlier one failed"))
                continue
            if quick and checkpoint.slow:
                outcomes.append(Outcome(checkpoint, "skipped", reason="slow"))
                continue
            on_start(checkpoint)
            outcome = _run_one(root, checkpoint, process_env, background)
            failed = outcome.status == "failed"
            outcomes.append(outcome)
    finally:
        for process in reversed(background):
            _stop(process)
    return outcomes


def _run_one(
    root: Path,
    checkpoint: Checkpoint,
    env: dict[str, str],
    background: list[subprocess.Popen[bytes]],
) -> Outcome:
    argv = ["bash", "-eo", "pipefail", "-c", checkpoint.command]
    started = time.monotonic()
    if checkpoint.background:
        log = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            argv, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        background.append(process)
        while time.monotonic() - started < checkpoint.timeout:
            if _http_ok(checkpoint.ready):
                return Outcome(checkpoint, "passed", time.monotonic() - started)
            if process.poll() is not None:
                break
            time.sleep(0.3)
        log.seek(0)
        output = log.read().decode(errors="replace")
        reason = (
            f"exited with code {process.returncode}"
            if process.poll() is not None
            else f"{checkpoint.ready} did not answer within {checkpoint.timeout:.0f} s"
        )
        return Outcome(checkpoint, "failed", time.monotonic() - started, output, reason)
    process = subprocess.Popen(
        argv, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        raw, _ = process.communicate(timeout=checkpoint.timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        raw = process.stdout.read() if process.stdout else b""
        output = raw.decode(errors="replace")
        reason = f"did not finish within {checkpoint.timeout:.0f} s"
        return Outcome(checkpoint, "failed", time.monotonic() - started, output, reason)
    output = raw.decode(errors="replace")
    seconds = time.monotonic() - started
    if process.returncode != 0:
        return Outcome(checkpoint, "failed", seconds, output, f"exit {process.returncode}")
    if checkpoint.expect and checkpoint.expect not in output:
        reason = f"the output does not contain {checkpoint.expect!r}"
        return Outcome(checkpoint, "failed", seconds, output, reason)
    return Outcome(checkpoint, "passed", seconds, output)
