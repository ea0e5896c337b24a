"""Limits of a real server: queue full, rate limit and keys, disconnects, timeouts."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration

Start = Callable[..., Any]
LONG = {"model": "tiny", "prompt": "The scheduler", "max_tokens": 480, "ignore_eos": True}


def _finished(url: str, reason: str) -> float:
    """``llmserve_requests_finished_total{finish_reason=...}`` from /metrics."""
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(f'llmserve_requests_finished_total{{finish_reason="{reason}"}}'):
            return float(line.split()[-1])
    return 0.0


def _eventually(check: Callable[[], bool], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def test_a_full_queue_answers_429_with_retry_after(start_server: Start) -> None:
    server = start_server(max_batch_size=1, max_queue=1)

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            return list(
                await asyncio.gather(
                    *(client.post(f"{server.url}/v1/completions", json=LONG) for _ in range(8))
                )
            )

    # Room for two (one running, one queued): eight at once means most are refused. (Not an
    # exact count: a request can finish before the last of the burst arrives.)
    responses = asyncio.run(burst())
    refused = [r for r in responses if r.status_code == 429]
    answered = [r for r in responses if r.status_code == 200]
    assert len(refused) >= 3
    assert len(answered) >= 2
    assert len(refused) + len(answered) == 8
    for response in refused:
        assert int(response.headers["retry-after"]) >= 1
        assert response.json()["error"]["code"] == "queue_full"
    assert all(r.json()["usage"]["completion_tokens"] == 480 for r in answered)
    metrics = httpx.get(f"{server.url}/metrics").text
    assert f'llmserve_requests_rejected_total{{reason="queue_full"}} {len(refused)}.0' in metrics
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    assert client.completions.create(model="tiny", prompt="The", max_tokens=2).choices


def test_keys_and_the_per_key_rate_limit(start_server: Start) -> None:
    server = start_server(api_keys=["alice", "bob"], rate_limit_rpm=60, rate_limit_burst=2)

    def client(key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)

    alice = client("alice")
    for _ in range(2):
        alice.completions.create(model="tiny", prompt="The", max_tokens=2)
    with pytest.raises(openai.RateLimitError) as limited:
        alice.completions.create(model="tiny", prompt="The", max_tokens=2)
    assert limited.value.response.headers["retry-after"] == "1"
    assert limited.value.body["code"] == "rate_limit_exceeded"  # type: ignore[index]
    client("bob").completions.create(model="tiny", prompt="The", max_tokens=2)  # own bucket
    with pytest.raises(openai.AuthenticationError):
        client("mallory").completions.create(model="tiny", prompt="The", max_tokens=2)
    response = httpx.post(f"{server.url}/v1/completions", json={"model": "tiny", "prompt": "x"})
    assert response.status_code == 401


def test_a_client_that_disconnects_frees_its_slot(start_server: Start) -> None:
    # One row and no queue: while the slot is taken, any other request gets 429.
    server = start_server(max_batch_size=1, max_queue=0)
    with httpx.stream(
        "POST", f"{server.url}/v1/completions", json={**LONG, "stream": True}, timeout=30
    ) as response:
        lines = response.iter_lines()
        assert next(line for line in lines if line.startswith("data: "))
        busy = httpx.post(f"{server.url}/v1/completions", json=LONG, timeout=30)
        assert busy.status_code == 429
    # The stream was closed after one chunk: the server cancels it and the row is free again.
    assert _eventually(lambda: _finished(server.url, "cancelled") == 1)
    free = httpx.post(
        f"{server.url}/v1/completions",
        json={"model": "tiny", "prompt": "The", "max_tokens": 3},
        timeout=30,
    )
    assert free.status_code == 200

    # The same for a plain (non-streamed) request whose client gives up.
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.url}/v1/completions", json=LONG, timeout=0.2)
    assert _eventually(lambda: _finished(server.url, "cancelled") == 2)


def test_a_request_past_its_deadline_is_cut_off(start_server: Start) -> None:
    server = start_server(request_timeout=0.2, max_tokens_limit=480)
    response = httpx.post(f"{server.url}/v1/completions", json=LONG, timeout=30)
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "timeout"
    with httpx.stream(
        "POST", f"{server.url}/v1/completions", json={**LONG, "stream": True}, timeout=30
    ) as stream:
        events = [line[6:] for line in stream.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert json.loads(events[-2])["error"]["type"] == "timeout"
    assert _eventually(lambda: _finished(server.url, "cancelled") == 2)
