"""``llmserve demo``: a real server on loopback, driven by the official ``openai`` client.

1. Build (or reuse) the model and start ``llmserve serve`` as a subprocess, with a small batch
   and queue so that overload is visible.
2. List the models; one completion; one chat streamed token by token.
3. Eight concurrent streams: each one's time to first token, queue wait, tokens and cost, and
   the batch sizes the engine actually ran.
4. Overload: sixteen requests at once; the queue fills and the rest get 429 with Retry-After.
5. A slice of ``/metrics``.
"""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import ExitStack
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from llmserve.config import Settings

#: Batch and queue of the demo server: small, so 16 requests overflow it.
DEMO_BATCH = 4
DEMO_QUEUE = 4

QUESTIONS = {
    "tiny": ("The autoscaler", "What is continuous batching?"),
    "smollm2": ("The three primary colors are", "What is the capital of France?"),
}


async def _stream_chat(client: Any, model: str, question: str, console: Console) -> None:
    started = time.perf_counter()
    first = None
    console.print(f"[bold]user:[/bold] {question}\n[bold]assistant:[/bold] ", end="")
    stream = await client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": question}],
        max_tokens=48,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    usage = None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter() - started
            console.print(chunk.choices[0].delta.content, end="", highlight=False)
        if chunk.usage:
            usage = chunk.usage
    console.print()
    tokens = usage.completion_tokens if usage else 0
    console.print(
        f"   streamed {tokens} tokens; first after {1000 * (first or 0):.0f} ms, "
        f"all after {1000 * (time.perf_counter() - started):.0f} ms",
        style="dim",
    )


async def _concurrent(client: Any, model: str, prompt: str, count: int) -> list[dict[str, Any]]:
    async def one(i: int) -> dict[str, Any]:
        response = await client.completions.create(
            model=model, prompt=prompt, max_tokens=32, temperature=0.8, seed=i
        )
        return {"i": i, **response.usage.model_dump()}

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def _overload(url: str, model: str, count: int) -> dict[str, Any]:
    async def one(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(
            f"{url}/v1/completions",
            json={"model": model, "prompt": "The gateway", "max_tokens": 64},
        )

    async with httpx.AsyncClient(timeout=120) as client:
        responses = await asyncio.gather(*(one(client) for _ in range(count)))
    refused = [r for r in responses if r.status_code == 429]
    return {
        "ok": sum(r.status_code == 200 for r in responses),
        "refused": len(refused),
        "retry_after": sorted({r.headers.get("retry-after", "?") for r in refused}),
        "message": refused[0].json()["error"]["message"] if refused else "",
    }


def run_demo(console: Console, settings: Settings) -> None:
    """The whole demo against a real server subprocess."""
    from aiinfra_shared.tinylm import read_record
    from llmserve.models import resolve
    from llmserve.server import server_process
    from llmserve.ui import training_progress

    console.rule("model")
    with training_progress("building the tiny model (once, ~10 s)") as progress:
        path, name = resolve(settings.model, settings.cache_dir, progress)
    record = read_record(path)
    if record:
        console.print(
            f"{name}: a {record.parameters:,}-parameter Llama trained here on the "
            f"shipped corpus, loss {record.initial_loss:.2f} -> {record.final_loss:.2f} "
            f"({path})"
        )
    else:
        console.print(f"{name}: {path}")
    prompt, question = QUESTIONS.get(name, QUESTIONS["tiny"])
    env = {
        "LLMSERVE_MODEL": settings.model,
        "LLMSERVE_CACHE_DIR": str(settings.cache_dir),
        "LLMSERVE_MAX_BATCH_SIZE": str(DEMO_BATCH),
        "LLMSERVE_MAX_QUEUE": str(DEMO_QUEUE),
    }
    with ExitStack() as stack:
        with console.status("starting llmserve serve"):
            server = stack.enter_context(server_process(env))
        console.print(
            f"server: {server.url}/v1 (pid {server.pid}), batch {DEMO_BATCH}, queue {DEMO_QUEUE}"
        )
        asyncio.run(_talk(console, server.url, name, prompt, question))


async def _talk(console: Console, url: str, name: str, prompt: str, question: str) -> None:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=f"{url}/v1", api_key="demo", max_retries=0)
    console.rule("the openai client against it")
    models = await client.models.list()
    console.print(f"GET /v1/models -> {[m.id for m in models.data]}")
    completion = await client.completions.create(
        model=name, prompt=prompt, max_tokens=24, temperature=0
    )
    console.print(f"[bold]{prompt}[/bold]{completion.choices[0].text}", highlight=False)
    await _stream_chat(client, name, question, console)

    console.rule(f"8 concurrent requests, batch size {DEMO_BATCH}")
    rows = await _concurrent(client, name, prompt, 8)
    table = Table("request", "queue ms", "TTFT ms", "tokens", "est. cost $")
    for row in rows:
        table.add_row(
            str(row["i"]),
            f"{1000 * row['queue_seconds']:.0f}",
            f"{1000 * (row['time_to_first_token_seconds'] or 0):.0f}",
            str(row["completion_tokens"]),
            f"{row['estimated_cost_usd']:.8f}",
        )
    console.print(table)
    metrics = httpx.get(f"{url}/metrics").text
    sizes = _batch_histogram(metrics)
    console.print(
        f"decode steps by batch size: {sizes}  (four at most: the others waited "
        "in the queue and joined as rows freed up)"
    )

    console.rule(f"overload: 16 requests at once (batch {DEMO_BATCH} + queue {DEMO_QUEUE})")
    outcome = await _overload(url, name, 16)
    console.print(
        f"{outcome['ok']} answered, {outcome['refused']} refused with 429 "
        f"(Retry-After {', '.join(outcome['retry_after'])} s): {outcome['message']}"
    )
    await client.close()

    console.rule("/metrics (a slice)")
    metrics = httpx.get(f"{url}/metrics").text
    wanted = (
        "llmserve_time_to_first_token_seconds_count",
        "llmserve_time_to_first_token_seconds_sum",
        "llmserve_generation_tokens_total",
        "llmserve_generation_tokens_per_second",
        "llmserve_requests_rejected_total",
        "llmserve_requests_finished_total",
        "llmserve_kv_cache_usage_ratio",
        "llmserve_queue_depth",
    )
    for line in metrics.splitlines():
        if line.startswith(wanted):
            console.print(line, highlight=False)


def _batch_histogram(metrics: str) -> dict[str, int]:
    """Decode steps per batch size, from the cumulative ``llmserve_batch_size`` buckets."""
    counts: dict[float, float] = {}
    for match in re.finditer(r'llmserve_batch_size_bucket\{le="([^"]+)"\} ([0-9.e+]+)', metrics):
        if match.group(1) != "+Inf":
            counts[float(match.group(1))] = float(match.group(2))
    out: dict[str, int] = {}
    previous = 0.0
    for bound in sorted(counts):
        steps = counts[bound] - previous
        previous = counts[bound]
        if steps:
            out[f"{int(bound)}"] = int(steps)
    return out
