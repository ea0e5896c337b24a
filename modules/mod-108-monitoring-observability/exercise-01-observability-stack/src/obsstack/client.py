"""Talking to a running stack: its URLs from the state file, traffic, faults, queries."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from obsstack.errors import ObsstackError
from obsstack.stack import read_state


def urls(data_dir: Path) -> dict[str, str]:
    """The URLs of the stack running under ``data_dir``.

    Raises:
        ObsstackError: No stack is running there.
    """
    state = read_state(data_dir)
    if state is None:
        raise ObsstackError(f"no stack is running under {data_dir}; start one with `obsstack up`")
    found: dict[str, str] = state["urls"]
    return found


def call(method: str, url: str, **kwargs: Any) -> Any:
    """One HTTP call; a refusal or an unreachable server is an :class:`ObsstackError`."""
    try:
        response = httpx.request(method, url, timeout=10.0, **kwargs)
    except httpx.HTTPError as exc:
        raise ObsstackError(f"{url} is not reachable: {exc}") from None
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise ObsstackError(f"{method} {url} answered {response.status_code}: {detail}")
    return response.json()


@dataclass
class TrafficStats:
    """What a traffic run got back."""

    sent: int = 0
    ok: int = 0
    failed: int = 0
    trace_ids: list[str] = field(default_factory=list)
    failed_trace_ids: list[str] = field(default_factory=list)


def send_traffic(
    service_url: str,
    *,
    seconds: float,
    rps: float = 20.0,
    seed: int = 0,
    stop: threading.Event | None = None,
) -> TrafficStats:
    """Send ``/predict`` requests at about ``rps`` for ``seconds`` (some inputs out of range).

    Raises:
        ObsstackError: ``seconds`` or ``rps`` out of range, or the service unreachable.
    """
    if not 0 < seconds <= 3600 or not 0 < rps <= 1000:
        raise ObsstackError("--seconds must be in (0, 3600] and --rps in (0, 1000]")
    rng = random.Random(seed)  # noqa: S311 (synthetic traffic)
    stats = TrafficStats()
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=10.0) as client:
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            features = [rng.gauss(0, 1.5) for _ in range(4)]
            if rng.random() < 0.05:
                features[rng.randrange(4)] = rng.choice([-9.0, 12.0])
            try:
                response = client.post(f"{service_url}/predict", json={"features": features})
            except httpx.HTTPError as exc:
                raise ObsstackError(f"{service_url} is not reachable: {exc}") from None
            stats.sent += 1
            trace_id = response.headers.get("x-trace-id", "")
            if response.status_code == 200:
                stats.ok += 1
                stats.trace_ids.append(trace_id)
            else:
                stats.failed += 1
                stats.failed_trace_ids.append(trace_id)
            time.sleep(max(0.0, 1 / rps - 0.001))
    return stats


def wait_for_notification(
    store_url: str,
    *,
    alertname: str,
    status: str = "firing",
    receiver: str | None = None,
    timeout: float = 60.0,
) -> list[dict[str, Any]]:
    """Poll the store's webhook inbox until ``alertname`` arrived with ``status``.

    Raises:
        ObsstackError: Not within ``timeout`` seconds.
    """
    params = {"alertname": alertname, "status": status}
    if receiver:
        params["receiver"] = receiver
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found: list[dict[str, Any]] = call("GET", f"{store_url}/api/notifications", params=params)
        if found:
            return found
        time.sleep(0.25)
    raise ObsstackError(f"no {status} {alertname} notification within {timeout:.0f} s")
