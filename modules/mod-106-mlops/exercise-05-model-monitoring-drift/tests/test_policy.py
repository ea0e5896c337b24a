"""The retrain policy fires when it should, cools down, and never loses a request."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from driftwatch.demo import RetrainReceiver
from driftwatch.errors import DriftwatchError
from driftwatch.policy import (
    CommandHook,
    RetrainPolicy,
    RetrainRequest,
    RetrainTrigger,
    WebhookHook,
    WindowVerdict,
)

from aiinfra_shared.services import free_port


def _v(window: int, drift: bool, accuracy: float | None = None) -> WindowVerdict:
    return WindowVerdict(
        window, drift, 0.7 if drift else 0.0, ("income",) if drift else (), accuracy
    )


def test_drift_must_last_k_windows() -> None:
    policy = RetrainPolicy(consecutive_windows=3, cooldown_windows=0)
    assert policy.observe(_v(0, True)) is None
    assert policy.observe(_v(1, True)) is None
    assert policy.observe(_v(2, False)) is None  # the streak is broken
    assert policy.observe(_v(3, True)) is None
    assert policy.observe(_v(4, True)) is None
    request = policy.observe(_v(5, True))
    assert request is not None
    assert request.window == 5
    assert request.reasons == ("data drift in 3 consecutive windows (drift share 0.70)",)
    assert request.drifted_columns == ("income",)


def test_cooldown_suppresses_then_allows_again() -> None:
    policy = RetrainPolicy(consecutive_windows=1, cooldown_windows=2)
    fired = [policy.observe(_v(i, True)) is not None for i in range(7)]
    assert fired == [True, False, False, True, False, False, True]
    assert policy.in_cooldown(7)


def test_accuracy_drop_triggers_without_any_drift() -> None:
    policy = RetrainPolicy(baseline_accuracy=0.80, max_accuracy_drop=0.05, cooldown_windows=0)
    assert policy.observe(_v(0, False, accuracy=0.77)) is None  # within the margin
    assert policy.observe(_v(1, False, accuracy=None)) is None  # no labels yet: no verdict
    request = policy.observe(_v(2, False, accuracy=0.70))
    assert request is not None
    assert request.reasons == ("accuracy 0.700 is more than 0.05 below the reference 0.800",)


def test_bad_policy_settings_are_refused() -> None:
    with pytest.raises(DriftwatchError):
        RetrainPolicy(consecutive_windows=0)
    with pytest.raises(DriftwatchError):
        RetrainPolicy(max_accuracy_drop=1.5)
    with pytest.raises(DriftwatchError, match="http"):
        WebhookHook("ftp://x")


def _request(window: int = 4) -> RetrainRequest:
    policy = RetrainPolicy(consecutive_windows=1)
    request = policy.observe(_v(window, True))
    assert request is not None
    return request


def test_webhook_delivers_the_request_as_json(tmp_path: Path, receiver: RetrainReceiver) -> None:
    trigger = RetrainTrigger(tmp_path / "outbox.jsonl", [WebhookHook(receiver.url)])
    request = _request()
    trigger.submit(request)
    assert receiver.received == [json.loads(json.dumps(request.to_json()))]
    assert trigger.pending() == 0
    assert [e["request"]["id"] for e in trigger.sent()] == [request.id]


def test_undelivered_requests_stay_in_the_outbox_and_are_retried(
    tmp_path: Path, receiver: RetrainReceiver
) -> None:
    outbox = tmp_path / "outbox.jsonl"
    down = WebhookHook(f"http://127.0.0.1:{free_port()}/retrain", timeout=2)
    request = _request()
    RetrainTrigger(outbox, [down]).submit(request)
    entry = json.loads(outbox.read_text())
    assert entry["status"] == "pending"
    assert "ConnectError" in entry["last_error"]

    # A new process (same outbox), the receiver is back: the request goes out, exactly once.
    trigger = RetrainTrigger(outbox, [WebhookHook(receiver.url)])
    assert trigger.flush() == 0
    assert [r["id"] for r in receiver.received] == [request.id]
    assert trigger.flush() == 0
    assert len(receiver.received) == 1
    assert trigger.sent()[0]["attempts"] == 2


def test_command_hook_gets_the_request_on_stdin(tmp_path: Path) -> None:
    target = tmp_path / "got.json"
    script = f"import sys, pathlib; pathlib.Path({str(target)!r}).write_text(sys.stdin.read())"
    trigger = RetrainTrigger(
        tmp_path / "outbox.jsonl", [CommandHook([sys.executable, "-c", script])]
    )
    request = _request(window=9)
    trigger.submit(request)
    assert json.loads(target.read_text())["window"] == 9

    failing = CommandHook([sys.executable, "-c", "import sys; sys.exit('trainer is busy')"])
    trigger = RetrainTrigger(tmp_path / "outbox2.jsonl", [failing])
    trigger.submit(_request())
    assert trigger.pending() == 1
    last = json.loads((tmp_path / "outbox2.jsonl").read_text())["last_error"]
    assert "exit 1: trainer is busy" in last
