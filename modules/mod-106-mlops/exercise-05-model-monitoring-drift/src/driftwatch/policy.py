"""When to ask for a retrain, and how the request is delivered without being lost.

:class:`RetrainPolicy` looks at each window's verdict and asks for a retrain when the data
drifted for K windows in a row, or when the accuracy (from the late labels) fell more than a
margin below the reference accuracy. After a request it stays quiet for a cooldown of N
windows, so a drift that lasts does not flood the training system.

:class:`RetrainTrigger` delivers requests through hooks (an HTTP webhook, a command). Each
request is first appended to an outbox file (JSON lines); only a delivery that every hook
accepted marks it sent. A hook that fails leaves the request pending and the next window
retries it: a request, once decided, is never dropped.
"""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from driftwatch.errors import DriftwatchError, HookError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowVerdict:
    """What the policy needs from one window.

    Attributes:
        window: Window number.
        dataset_drift: Whether the window drifted as a whole.
        drift_share: Share of drifted columns.
        drifted_columns: Names of the drifted columns.
        accuracy: Accuracy from the labels arrived so far, or None when none have.
    """

    window: int
    dataset_drift: bool
    drift_share: float
    drifted_columns: tuple[str, ...] = ()
    accuracy: float | None = None


@dataclass(frozen=True)
class RetrainRequest:
    """A request to retrain, as sent to the hooks (``to_json``)."""

    id: str
    window: int
    reasons: tuple[str, ...]
    drift_share: float
    drifted_columns: tuple[str, ...]
    accuracy: float | None
    created_at: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass
class RetrainPolicy:
    """Decide, window by window, whether to request a retrain.

    Attributes:
        consecutive_windows: Drifted windows in a row that trigger a request.
        baseline_accuracy: The model's accuracy on its reference data; None disables the
            performance rule.
        max_accuracy_drop: Trigger when accuracy < baseline - this.
        cooldown_windows: After a request, this many windows send none.
    """

    consecutive_windows: int = 2
    baseline_accuracy: float | None = None
    max_accuracy_drop: float = 0.05
    cooldown_windows: int = 3
    _streak: int = field(default=0, init=False)
    _last_request: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.consecutive_windows < 1:
            raise DriftwatchError("consecutive_windows must be at least 1")
        if self.cooldown_windows < 0:
            raise DriftwatchError("cooldown_windows cannot be negative")
        if not 0 < self.max_accuracy_drop < 1:
            raise DriftwatchError("max_accuracy_drop must be in (0, 1)")

    @property
    def streak(self) -> int:
        """Drifted windows in a row so far."""
        return self._streak

    def snapshot(self) -> tuple[int, int | None]:
        """(streak, window of the last request): what a restart must carry on from."""
        return self._streak, self._last_request

    def restore(self, streak: int, last_request: int | None) -> None:
        """Carry on from :meth:`snapshot`'s values."""
        self._streak, self._last_request = streak, last_request

    def in_cooldown(self, window: int) -> bool:
        """Whether a request at ``window`` would be suppressed."""
        return self._last_request is not None and window - self._last_request <= (
            self.cooldown_windows
        )

    def observe(self, verdict: WindowVerdict) -> RetrainRequest | None:
        """Take one window's verdict; return a request when one is due (and not cooling down)."""
        self._streak = self._streak + 1 if verdict.dataset_drift else 0
        reasons = []
        if self._streak >= self.consecutive_windows:
            reasons.append(
                f"data drift in {self._streak} consecutive windows "
                f"(drift share {verdict.drift_share:.2f})"
            )
        if (
            self.baseline_accuracy is not None
            and verdict.accuracy is not None
            and verdict.accuracy < self.baseline_accuracy - self.max_accuracy_drop
        ):
            reasons.append(
                f"accuracy {verdict.accuracy:.3f} is more than {self.max_accuracy_drop:.2f} "
                f"below the reference {self.baseline_accuracy:.3f}"
            )
        if not reasons:
            return None
        if self.in_cooldown(verdict.window):
            logger.info("window %d: retrain due but in cooldown", verdict.window)
            return None
        self._last_request = verdict.window
        self._streak = 0
        return RetrainRequest(
            id=uuid.uuid4().hex,
            window=verdict.window,
            reasons=tuple(reasons),
            drift_share=verdict.drift_share,
            drifted_columns=verdict.drifted_columns,
            accuracy=verdict.accuracy,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )


class Hook(Protocol):
    """Delivers a retrain request somewhere; raises :class:`HookError` when it cannot."""

    name: str

    def __call__(self, request: RetrainRequest) -> None:
        """Deliver ``request``."""


class WebhookHook:
    """POST the request as JSON; any answer but 2xx is a failure."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise DriftwatchError(f"webhook URL must start with http:// or https://, got {url!r}")
        self.url = url
        self.timeout = timeout
        self.name = f"webhook {url}"

    def __call__(self, request: RetrainRequest) -> None:
        """POST ``request``."""
        try:
            response = httpx.post(self.url, json=request.to_json(), timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise HookError(f"{self.name}: {exc.__class__.__name__}: {exc}") from exc
        if not response.is_success:
            raise HookError(f"{self.name}: answered HTTP {response.status_code}")


class CommandHook:
    """Run a command with the request as JSON on stdin; a non-zero exit is a failure."""

    def __init__(self, command: str | Sequence[str], *, timeout: float = 60.0) -> None:
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.argv:
            raise DriftwatchError("the retrain command is empty")
        self.timeout = timeout
        self.name = f"command {self.argv[0]}"

    def __call__(self, request: RetrainRequest) -> None:
        """Run the command."""
        try:
            done = subprocess.run(
                self.argv,
                input=json.dumps(request.to_json()),
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HookError(f"{self.name}: {exc}") from exc
        if done.returncode != 0:
            raise HookError(f"{self.name}: exit {done.returncode}: {done.stderr.strip()[-300:]}")


class RetrainTrigger:
    """Outbox plus hooks: every decided request is stored first, then delivered (and retried)."""

    def __init__(self, outbox: Path | str, hooks: Sequence[Hook] = ()) -> None:
        self.outbox = Path(outbox)
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        self.hooks = list(hooks)

    def _read(self) -> list[dict[str, Any]]:
        if not self.outbox.exists():
            return []
        return [json.loads(line) for line in self.outbox.read_text().splitlines() if line]

    def _write(self, entries: list[dict[str, Any]]) -> None:
        tmp = self.outbox.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(e) + "\n" for e in entries))
        tmp.replace(self.outbox)  # atomic: a crash leaves the old or the new outbox, whole

    def submit(self, request: RetrainRequest) -> None:
        """Store ``request`` as pending, then try to deliver everything pending."""
        entries = self._read()
        entries.append({"request": request.to_json(), "status": "pending", "attempts": 0})
        self._write(entries)
        self.flush()

    def flush(self) -> int:
        """Deliver pending requests; returns how many are still pending afterwards."""
        entries = self._read()
        for entry in entries:
            if entry["status"] != "pending":
                continue
            request = RetrainRequest(
                **{
                    **entry["request"],
                    "reasons": tuple(entry["request"]["reasons"]),
                    "drifted_columns": tuple(entry["request"]["drifted_columns"]),
                }
            )
            entry["attempts"] += 1
            try:
                for hook in self.hooks:
                    hook(request)
            except HookError as exc:
                entry["last_error"] = str(exc)
                logger.warning("retrain request %s not delivered: %s", request.id[:8], exc)
                continue
            entry["status"] = "sent"
            entry.pop("last_error", None)
            logger.info("retrain request %s delivered", request.id[:8])
        self._write(entries)
        return self.pending()

    def pending(self) -> int:
        """Requests not delivered yet."""
        return sum(e["status"] == "pending" for e in self._read())

    def sent(self) -> list[dict[str, Any]]:
        """Delivered requests (the outbox entries)."""
        return [e for e in self._read() if e["status"] == "sent"]
