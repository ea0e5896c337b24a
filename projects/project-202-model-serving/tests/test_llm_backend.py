"""The LLM backend under more concurrent streams than threads, clients that leave, and
SIGTERM; ``servplat up`` under SIGTERM. Every server here is a real process."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from servplat.demo import metric

from aiinfra_shared.services import RunningService, free_port, http_process
from aiinfra_shared.services.base import tcp_open

pytestmark = pytest.mark.integration

CHAT = {"model": "tiny", "max_tokens": 24, "stream": True,
        "messages": [{"role": "user", "content": "What does the gateway do?"}]}  # fmt: skip


@pytest.fixture(scope="module")
def llm(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """One LLM backend with a queue of 4."""
    argv = [sys.executable, "-m", "servplat", "backend", "llm", "--max-queue", "4", "--port"]
    with http_process(
        "llm",
        lambda p: [*argv, str(p)],
        env={"SERVPLAT_CACHE_DIR": str(cache_dir)},
        workdir=tmp_path_factory.mktemp("llm"),
        timeout=120,
    ) as service:
        yield service


async def _stream(client: httpx.AsyncClient, url: str) -> tuple[int, str, dict[str, str]]:
    async with client.stream("POST", f"{url}/v1/chat/completions", json=CHAT) as response:
        body = (await response.aread()).decode()
        return response.status_code, body, dict(response.headers)


def test_more_streams_than_threads_are_served_or_refused_never_wedged(
    llm: RunningService,
) -> None:
    """24 concurrent streams (the default executor has min(32, cores + 4) threads; the queue
    holds 4): each one ends, either with [DONE] or with a 429 and Retry-After, and the server
    answers normally afterwards."""

    async def burst() -> list[tuple[int, str, dict[str, str]]]:
        async with httpx.AsyncClient(timeout=120) as client:
            return await asyncio.gather(*(_stream(client, llm.url) for _ in range(24)))

    results = asyncio.run(asyncio.wait_for(burst(), timeout=180))
    served = [r for r in results if r[0] == 200]
    refused = [r for r in results if r[0] == 429]
    assert len(served) + len(refused) == 24
    assert len(served) >= 4
    assert all(body.rstrip().endswith("data: [DONE]") for _, body, _ in served)
    for _, body, headers in refused:
        assert int(headers["retry-after"]) >= 1
        assert json.loads(body)["error"]["code"] == "queue_full"
    after = httpx.post(f"{llm.url}/v1/chat/completions", json={**CHAT, "stream": False}, timeout=60)
    assert after.status_code == 200
    assert after.json()["usage"]["completion_tokens"] > 0


def test_a_client_that_leaves_is_cancelled_and_frees_the_worker(llm: RunningService) -> None:
    before = metric(httpx.get(f"{llm.url}/metrics").text, "servplat_llm_cancelled_total")
    long_chat = {**CHAT, "max_tokens": 500, "ignore_eos": True}
    with (
        httpx.Client(timeout=60) as client,
        client.stream("POST", f"{llm.url}/v1/chat/completions", json=long_chat) as response,
    ):
        for _ in response.iter_lines():
            break  # one event, then leave
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = httpx.get(f"{llm.url}/metrics").text
        if metric(text, "servplat_llm_cancelled_total") > before:
            break
        time.sleep(0.2)
    assert metric(text, "servplat_llm_cancelled_total") == before + 1
    assert metric(text, "servplat_llm_queue_depth") == 0


def test_a_tiny_temperature_samples_instead_of_killing_the_worker(llm: RunningService) -> None:
    # logits / 1e-38 overflowed to inf and the softmax gave NaN: multinomial raised inside
    # the worker. Now the draw is one-hot, and the next request is still served.
    tiny = {**CHAT, "stream": False, "temperature": 1.1754943508222875e-38, "max_tokens": 8}
    for _ in range(2):
        response = httpx.post(f"{llm.url}/v1/chat/completions", json=tiny, timeout=60)
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"]


def test_sigterm_stops_the_backend_in_the_middle_of_a_stream(
    cache_dir: Path, tmp_path: Path
) -> None:
    argv = [sys.executable, "-m", "servplat", "backend", "llm", "--port"]
    with http_process(
        "llm-term", lambda p: [*argv, str(p)], env={"SERVPLAT_CACHE_DIR": str(cache_dir)},
        workdir=tmp_path, timeout=120,
    ) as service:  # fmt: skip
        with httpx.Client(timeout=60) as client, client.stream(
            "POST", f"{service.url}/v1/chat/completions",
            json={**CHAT, "max_tokens": 500, "ignore_eos": True},
        ) as response:  # fmt: skip
            next(response.iter_lines())
            started = time.monotonic()
            os.kill(service.pid, signal.SIGTERM)
            service.process.wait(timeout=15)
        assert time.monotonic() - started < 15
        assert not tcp_open("127.0.0.1", service.port)


@pytest.mark.slow
def test_servplat_up_stops_everything_on_sigterm(cache_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "SERVPLAT_CACHE_DIR": str(cache_dir)}
    log = (tmp_path / "up.log").open("w")
    up = subprocess.Popen(
        [sys.executable, "-m", "servplat", "up", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while not tcp_open("127.0.0.1", port):
            assert up.poll() is None, (tmp_path / "up.log").read_text()
            assert time.monotonic() < deadline, "servplat up did not start"
            time.sleep(0.5)
        printed = (tmp_path / "up.log").read_text()
        deadline = time.monotonic() + 30
        while "gateway:" not in printed and time.monotonic() < deadline:
            time.sleep(0.2)
            printed = (tmp_path / "up.log").read_text()
        children = re.findall(r"\(pid (\d+)\)", printed)  # "backend x: http://... (pid N)"
        assert len(children) == 3, printed
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=30) == 0
        assert not tcp_open("127.0.0.1", port)
        time.sleep(1)
        alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
        assert alive == [], "backends outlived servplat up"
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
