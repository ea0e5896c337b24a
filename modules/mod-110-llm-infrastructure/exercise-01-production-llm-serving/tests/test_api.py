"""The OpenAI-compatible API of a real ``llmserve serve`` process, through the official client."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(server: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="test", max_retries=0)


def test_models_lists_the_served_model(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list().data] == ["tiny"]


def test_a_completion_with_usage_and_cost(client: openai.OpenAI) -> None:
    response = client.completions.create(
        model="tiny",
        prompt="The scheduler",
        max_tokens=12,
        temperature=0,
        extra_body={"ignore_eos": True},
    )
    choice = response.choices[0]
    assert choice.finish_reason == "length"
    assert choice.text.strip()
    assert response.usage is not None
    assert response.usage.completion_tokens == 12
    assert response.usage.total_tokens == response.usage.prompt_tokens + 12
    extra = response.usage.model_extra or {}
    assert extra["estimated_cost_usd"] > 0
    assert extra["time_to_first_token_seconds"] > 0


def test_chat_streams_the_same_answer_token_by_token(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "What does the gateway do?"}]
    whole = client.chat.completions.create(model="tiny", messages=messages, temperature=0)  # type: ignore[arg-type]
    stream = client.chat.completions.create(
        model="tiny",
        messages=messages,
        temperature=0,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) > 3  # streamed, not one blob
    assert "".join(pieces) == whole.choices[0].message.content
    assert whole.choices[0].message.content == "The gateway routes each request to a model replica."
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [f.choices[0].finish_reason for f in finals] == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens  # type: ignore[union-attr]


def test_the_stream_ends_with_done(server: Any) -> None:
    body = {"model": "tiny", "prompt": "The gateway", "max_tokens": 5, "stream": True}
    with httpx.stream("POST", f"{server.url}/v1/completions", json=body, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(e[6:]) for e in events[:-1]]
    assert all(p["object"] == "text_completion" for p in payloads)
    assert payloads[-1]["choices"][0]["finish_reason"] in {"stop", "length"}


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"model": "tiny"}, 400, "prompt"),
        ({"model": "tiny", "prompt": ""}, 400, "prompt"),
        ({"model": "tiny", "prompt": "x", "n": 2}, 400, "n"),
        ({"model": "tiny", "prompt": "x", "temperature": 3}, 400, "temperature"),
        ({"model": "tiny", "prompt": "x", "max_tokens": 0}, 400, "max_tokens"),
        ({"model": "tiny", "prompt": "x", "max_tokens": 100_000}, 400, "max_tokens"),
        ({"model": "tiny", "prompt": "x", "stop": ["a", "b", "c", "d", "e"]}, 400, "stop"),
        ({"model": "tiny", "prompt": "word " * 1200}, 400, "prompt"),
        ({"model": "gpt-9", "prompt": "x"}, 404, "model"),
    ],
)
def test_bad_requests_get_openai_error_bodies(
    server: Any,
    body: dict,  # type: ignore[type-arg]
    status: int,
    param: str,
) -> None:
    response = httpx.post(f"{server.url}/v1/completions", json=body, timeout=30)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param
    assert error["message"]


def test_malformed_json_and_chat_errors(server: Any, client: openai.OpenAI) -> None:
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError, match="messages"):
        client.chat.completions.create(model="tiny", messages=[])
    with pytest.raises(openai.BadRequestError, match="role"):
        client.chat.completions.create(model="tiny", messages=[{"role": "wizard", "content": "x"}])  # type: ignore[list-item,misc]
    with pytest.raises(openai.BadRequestError, match=r"context_length_exceeded|tokens"):
        client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "word " * 1200}]
        )
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="other", messages=[{"role": "user", "content": "x"}])


def test_health_readiness_and_metrics(server: Any, client: openai.OpenAI) -> None:
    client.completions.create(model="tiny", prompt="The gateway", max_tokens=4)
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz").json()
    assert ready["status"] == "ready"
    assert ready["model"] == "tiny"
    text = httpx.get(f"{server.url}/metrics").text
    for name in (
        "llmserve_time_to_first_token_seconds_count",
        "llmserve_inter_token_latency_seconds_count",
        "llmserve_batch_size_count",
        "llmserve_generation_tokens_total",
        "llmserve_prompt_tokens_total",
        "llmserve_generation_tokens_per_second",
        "llmserve_kv_cache_usage_ratio",
        "llmserve_queue_depth",
        "llmserve_running_requests",
        "llmserve_request_cost_dollars_count",
        'llmserve_http_requests_total{method="POST",route="/v1/completions"',
    ):
        assert name in text, name
    ttft = next(
        line
        for line in text.splitlines()
        if line.startswith("llmserve_time_to_first_token_seconds_count")
    )
    assert float(ttft.split()[-1]) >= 1
