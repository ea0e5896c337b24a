"""The running platform over real HTTP: splits, stickiness, batching, shadow, streaming,
errors, run-time weights and a trace across processes."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from servplat.demo import metric, traffic
from servplat.platform import Platform

from aiinfra_shared.services import RunningService
from aiinfra_shared.services.otel import collected_spans

pytestmark = pytest.mark.integration

APPLICANT = [55.0, 0.7, 40.0, 3.0, 2.0]


def test_a_90_10_split_over_1000_users_is_sticky(platform: Platform) -> None:
    url = platform.gateway.url
    results = asyncio.run(traffic(url, [f"ab-{i:04d}" for i in range(1000)]))
    assert {r["status"] for r in results} == {200}
    shares = Counter(r["variant"] for r in results)
    assert abs(shares["scorer-v1"] / 1000 - 0.9) < 0.03, shares
    again = asyncio.run(traffic(url, [f"ab-{i:04d}" for i in range(200)]))
    assert [r["variant"] for r in again] == [r["variant"] for r in results[:200]]


def test_a_prediction_carries_variant_cost_and_latency(platform: Platform) -> None:
    response = httpx.post(
        f"{platform.gateway.url}/v1/predict",
        json={"model": "scorer", "features": APPLICANT, "user": "alice"},
    )
    body = response.json()
    assert response.status_code == 200
    assert response.headers["x-servplat-variant"] == body["variant"]
    assert set(body["prediction"]) == {"probability", "label"}
    price = platform.config.backends[body["variant"]].price_per_1k
    assert body["cost_usd"] == pytest.approx(price / 1000)
    batch = httpx.post(
        f"{platform.gateway.url}/v1/predict", json={"model": "scorer", "instances": [APPLICANT] * 3}
    ).json()
    assert len(batch["predictions"]) == 3


def test_concurrent_single_predictions_share_backend_calls(platform: Platform) -> None:
    url = platform.gateway.url
    before = httpx.get(f"{url}/metrics").text
    asyncio.run(traffic(url, [f"batch-{i}" for i in range(64)], concurrency=32))
    after = httpx.get(f"{url}/metrics").text
    calls = metric(after, "servplat_batch_size_count") - metric(before, "servplat_batch_size_count")
    items = metric(after, "servplat_batch_size_sum") - metric(before, "servplat_batch_size_sum")
    assert items >= 64  # the requests, and the shadow copies of v1's
    assert calls < items / 2  # at least two predictions per backend call on average


def test_shadow_copies_reach_v2_without_touching_the_answer(platform: Platform) -> None:
    url = platform.gateway.url
    before = metric(httpx.get(f"{url}/metrics").text, "servplat_shadow_requests_total")
    results = asyncio.run(traffic(url, [f"shadow-{i}" for i in range(100)]))
    served_by_v1 = sum(r["variant"] == "scorer-v1" for r in results)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = httpx.get(f"{url}/metrics").text
        if metric(text, "servplat_shadow_requests_total") - before >= served_by_v1:
            break
        time.sleep(0.1)
    outcomes = {
        o: metric(text, "servplat_shadow_requests_total", outcome=o)
        for o in ("agree", "disagree", "error")
    }
    assert outcomes["agree"] > outcomes["disagree"] > 0  # mostly the same, not always
    assert outcomes["error"] == 0


def test_chat_streams_through_the_gateway(platform: Platform) -> None:
    client = openai.OpenAI(base_url=f"{platform.gateway.url}/v1", api_key="x", max_retries=0)
    messages = [{"role": "user", "content": "What does the gateway do?"}]
    stream = client.chat.completions.create(
        model="chat",
        messages=messages,
        stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "The gateway routes each request to a model replica."
    assert sum(bool(c.choices and c.choices[0].delta.content) for c in chunks) > 3
    assert chunks[-1].usage is not None
    whole = client.chat.completions.create(model="chat", messages=messages)  # type: ignore[arg-type]
    assert whole.model == "chat"  # the route's name, not the backend's
    assert whole.choices[0].message.content == text
    cost = metric(
        httpx.get(f"{platform.gateway.url}/metrics").text,
        "servplat_cost_dollars_total",
        route="chat",
    )
    assert cost > 0


@pytest.mark.parametrize(
    ("path", "body", "status", "param"),
    [
        ("/v1/predict", {"model": "scorer"}, 400, None),
        (
            "/v1/predict",
            {"model": "scorer", "features": APPLICANT, "instances": [APPLICANT]},
            400,
            None,
        ),
        ("/v1/predict", {"model": "nope", "features": APPLICANT}, 404, "model"),
        ("/v1/predict", {"model": "chat", "features": APPLICANT}, 400, "model"),
        ("/v1/predict", {"model": "scorer", "features": [1, 2]}, 422, "features"),
        ("/v1/chat/completions", {"messages": []}, 400, "model"),
        ("/v1/chat/completions", {"model": "scorer", "messages": []}, 400, "model"),
        ("/v1/chat/completions", {"model": "chat", "messages": []}, 400, "messages"),
    ],
)
def test_malformed_requests_get_4xx_with_openai_bodies(
    platform: Platform,
    path: str,
    body: dict,
    status: int,  # type: ignore[type-arg]
    param: str | None,
) -> None:
    response = httpx.post(f"{platform.gateway.url}{path}", json=body, timeout=30)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    if param:
        assert error["param"] == param


def test_invalid_json_is_a_400(platform: Platform) -> None:
    response = httpx.post(
        f"{platform.gateway.url}/v1/chat/completions",
        content=b"{oops",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_weights_change_at_run_time(platform: Platform) -> None:
    url, admin = platform.gateway.url, platform.admin_headers()

    def put(model: str, variants: dict[str, Any]) -> httpx.Response:
        return httpx.put(f"{url}/admin/routes/{model}", json={"variants": variants}, headers=admin)

    assert put("scorer", {"scorer-v1": 0, "scorer-v2": 1}).status_code == 200
    try:
        results = asyncio.run(traffic(url, [f"canary-{i}" for i in range(50)]))
        assert {r["variant"] for r in results} == {"scorer-v2"}
        assert put("scorer", {"chat-tiny": 1}).status_code == 400
        assert put("none", {"a": 1}).status_code == 404
    finally:
        put("scorer", {"scorer-v1": 90, "scorer-v2": 10}).raise_for_status()
    routes = httpx.get(f"{url}/admin/routes", headers=admin).json()
    assert routes[0]["variants"] == {"scorer-v1": 90, "scorer-v2": 10}


def test_the_admin_api_needs_the_key_and_refuses_weights_that_are_not_finite(
    platform: Platform,
) -> None:
    url, admin = platform.gateway.url, platform.admin_headers()
    body = {"variants": {"scorer-v1": 0, "scorer-v2": 1}}
    assert httpx.put(f"{url}/admin/routes/scorer", json=body).status_code == 401
    wrong = {"Authorization": "Bearer not-the-key"}
    assert httpx.put(f"{url}/admin/routes/scorer", json=body, headers=wrong).status_code == 403
    assert httpx.get(f"{url}/admin/routes").status_code == 401
    for weight in ("1e400", "Infinity", "NaN", "-1"):
        raw = '{"variants": {"scorer-v1": WEIGHT, "scorer-v2": 1}}'.replace("WEIGHT", weight)
        bad = httpx.put(
            f"{url}/admin/routes/scorer",
            content=raw,
            headers={**admin, "content-type": "application/json"},
        )
        assert bad.status_code == 400, (weight, bad.text)
    routes = httpx.get(f"{url}/admin/routes", headers=admin).json()
    assert routes[0]["variants"] == {"scorer-v1": 90, "scorer-v2": 10}  # nothing changed


def test_a_streamed_chat_is_billed_even_without_include_usage(platform: Platform) -> None:
    """The gateway asks the backend for usage itself, bills it, and does not show the client a
    usage chunk it did not ask for."""
    url = platform.gateway.url
    metrics_before = httpx.get(f"{url}/metrics").text
    cost_before = metric(metrics_before, "servplat_cost_dollars_total", route="chat")
    body = {"model": "chat", "stream": True, "max_tokens": 16,
            "messages": [{"role": "user", "content": "What does the gateway do?"}]}  # fmt: skip
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=60) as response:
        events = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(e[6:]) for e in events[:-1]]
    assert all("usage" not in p for p in payloads)  # the client did not ask for it
    cost = metric(httpx.get(f"{url}/metrics").text, "servplat_cost_dollars_total", route="chat")
    price_per_token = 0.50 / 1000
    assert cost - cost_before >= price_per_token * 2  # prompt and completion tokens billed


def test_one_bad_request_does_not_poison_its_micro_batch(platform: Platform) -> None:
    """15 valid single predictions and one with a short vector, batched together: the valid
    ones are answered, the bad one alone gets a 4xx naming its problem."""
    url = platform.gateway.url
    good = {"model": "scorer", "features": [55.0, 0.7, 40.0, 3.0, 2.0]}
    short = {"model": "scorer", "features": [55.0, 0.7]}

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            bodies = [{**good, "user": f"batch-{i}"} for i in range(15)] + [short]
            return await asyncio.gather(*(client.post(f"{url}/v1/predict", json=b) for b in bodies))

    answers = asyncio.run(run())
    assert [a.status_code for a in answers[:15]] == [200] * 15
    assert 400 <= answers[15].status_code < 500
    assert "expected 5" in answers[15].json()["error"]["message"]
    infinite = httpx.post(
        f"{url}/v1/predict",
        content='{"model": "scorer", "features": [Infinity, 0.7, 40.0, 3.0, 2.0]}',
        headers={"content-type": "application/json"},
    )
    assert infinite.status_code == 400
    assert "finite" in infinite.json()["error"]["message"]


def test_one_trace_spans_the_gateway_and_the_backend(
    platform: Platform, otel_service: RunningService
) -> None:
    url = platform.gateway.url
    traceparent = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"  # a caller's trace, continued
    httpx.post(
        f"{url}/v1/chat/completions",
        headers={"traceparent": traceparent},
        json={"model": "chat", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]},
    ).raise_for_status()
    deadline = time.monotonic() + 15
    spans = []
    while time.monotonic() < deadline and len(spans) < 3:
        spans = [s for s in collected_spans(otel_service.log_path) if s.trace_id == "ab" * 16]
        time.sleep(0.2)
    by_kind = {(s.service, s.kind): s for s in spans}
    server = by_kind[("servplat-gateway", "SPAN_KIND_SERVER")]
    client = by_kind[("servplat-gateway", "SPAN_KIND_CLIENT")]
    backend = by_kind[("servplat-llm-tiny", "SPAN_KIND_SERVER")]
    assert server.parent_id == "cd" * 8  # the caller's span
    assert client.parent_id == server.span_id
    assert backend.parent_id == client.span_id  # across the process boundary
    assert server.attributes["servplat.variant"] == "chat-tiny"
    batches = [s for s in collected_spans(otel_service.log_path) if s.name.startswith("batch ")]
    assert batches
    assert all(int(s.attributes["servplat.batch_size"]) >= 1 for s in batches)


def test_a_client_leaving_a_stream_frees_the_llm_backend(platform: Platform) -> None:
    url = platform.gateway.url
    backend = platform.backends["chat-tiny"].url
    before = metric(httpx.get(f"{backend}/metrics").text, "servplat_llm_cancelled_total")
    body = {"model": "chat", "prompt": "The scheduler", "max_tokens": 400, "stream": True}
    with httpx.stream("POST", f"{url}/v1/completions", json=body, timeout=30) as response:
        assert response.status_code == 200
        assert next(line for line in response.iter_lines() if line.startswith("data: "))

    # The gateway closed its upstream stream, so the backend stopped generating (long before
    # 400 tokens) and released its one-at-a-time lock for the next request.
    def cancelled() -> float:
        return metric(httpx.get(f"{backend}/metrics").text, "servplat_llm_cancelled_total")

    assert eventually(lambda: cancelled() == before + 1), (before, cancelled())
    answer = httpx.post(
        f"{url}/v1/chat/completions",
        timeout=30,
        json={"model": "chat", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"]


def eventually(check: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()
