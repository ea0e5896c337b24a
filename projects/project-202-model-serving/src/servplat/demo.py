"""``servplat demo``: the shipped platform, driven by real traffic, in front of a person.

1. Start an OpenTelemetry collector (Rotel), two scorer versions, a chat model and the gateway.
2. 1000 users ask the scorer: the observed 90/10 split, latency and cost per variant, sticky
   assignment, the micro-batches, and what the shadow copies to v2 found.
3. A chat answer streamed through the gateway by the ``openai`` client.
4. Canary: 50/50 at run time.
5. scorer-v2 is killed: its breaker opens and its users fail over to v1; it is restarted and
   the breaker closes again.
6. One trace as the collector received it: gateway, backend, across processes.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time
from collections import Counter
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from servplat.config import Settings

APPLICANT = [55.0, 0.7, 40.0, 3.0, 2.0]


async def traffic(
    url: str, users: list[str], *, model: str = "scorer", concurrency: int = 32
) -> list[dict[str, Any]]:
    """One prediction per user, ``concurrency`` in flight; each result with its status."""
    limit = asyncio.Semaphore(concurrency)

    async def one(client: httpx.AsyncClient, i: int, user: str) -> dict[str, Any]:
        features = [APPLICANT[0] + i % 40, (i % 10) / 10, 30 + i % 40, float(i % 4), i % 7]
        async with limit:
            started = time.perf_counter()
            response = await client.post(
                f"{url}/v1/predict", json={"model": model, "features": features, "user": user}
            )
            elapsed = time.perf_counter() - started
        body = response.json()
        return {"status": response.status_code, "user": user, "ms": elapsed * 1000, **body}

    async with httpx.AsyncClient(timeout=30) as client:
        return list(await asyncio.gather(*(one(client, i, u) for i, u in enumerate(users))))


def split_table(results: list[dict[str, Any]], weights: dict[str, float], title: str) -> Table:
    """Observed share, latency and cost per variant."""
    total = sum(weights.values())
    table = Table(title=title)
    for column in ("variant", "requests", "observed", "configured", "p50 ms", "p95 ms", "cost $"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    answered = [r for r in results if r["status"] == 200]
    for variant in sorted(weights):
        rows = [r for r in answered if r["variant"] == variant]
        ms = sorted(r["ms"] for r in rows) or [0.0]
        table.add_row(
            variant,
            str(len(rows)),
            f"{len(rows) / max(1, len(answered)):.1%}",
            f"{weights[variant] / total:.0%}",
            f"{statistics.median(ms):.1f}",
            f"{ms[int(0.95 * (len(ms) - 1))]:.1f}",
            f"{sum(r['cost_usd'] for r in rows):.5f}",
        )
    return table


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples that carry ``labels`` (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + ("{" if labels else "")) and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def run_demo(console: Console, settings: Settings, *, requests: int = 1000) -> None:
    """The whole demo (about a minute)."""
    from contextlib import ExitStack

    from aiinfra_shared.services import start
    from servplat.platform import run_platform
    from servplat.routing import load_config

    config = load_config(settings.config)
    with ExitStack() as stack:
        with console.status("starting an OpenTelemetry collector, 3 model servers, the gateway"):
            collector = stack.enter_context(start("otel"))
            env = {**collector.env, "SERVPLAT_CACHE_DIR": str(settings.cache_dir)}
            key = secrets.token_urlsafe(16)  # the admin API's key, for this run only
            platform = stack.enter_context(run_platform(config, env=env, admin_key=key))
        url = platform.gateway.url
        console.rule("the platform")
        for name, service in platform.backends.items():
            info = ""
            if config.backends[name].kind == "classic":
                data = httpx.get(f"{service.url}/v1/info").json()
                info = f"{data['version']}, held-out AUC {data['auc']:.3f}"
            console.print(f"backend {name:<10} {service.url}  {info}")
        console.print(f"gateway            {url}   collector {collector.url}")

        _split(console, url, platform, requests)
        _chat(console, url)
        _canary(console, url, platform)
        _breaker(console, url, platform)
        _trace(console, collector)


def _split(console: Console, url: str, platform: Any, requests: int) -> None:
    routes = httpx.get(f"{url}/admin/routes", headers=platform.admin_headers()).json()
    weights = routes[0]["variants"]
    console.rule(f"A/B test: {requests} users ask the scorer")
    users = [f"user-{i:04d}" for i in range(requests)]
    results = asyncio.run(traffic(url, users))
    console.print(split_table(results, weights, "scorer: sticky 90/10 split"))
    again = [r for r in asyncio.run(traffic(url, users[:100])) if r["status"] == 200]
    first = {r["user"]: r for r in results[:100] if r["status"] == 200}
    steady = [
        r
        for r in again
        if r["user"] in first and not (r["fallback"] or first[r["user"]]["fallback"])
    ]
    same = sum(first[r["user"]]["variant"] == r["variant"] for r in steady)
    moved = len(again) - len(steady)
    console.print(
        f"sticky: {same}/{len(steady)} users got the same variant on a second request"
        + (f" ({moved} were moved by a fallback)" if moved else "")
    )
    time.sleep(0.5)  # shadow copies are sent after the answers
    text = httpx.get(f"{url}/metrics").text
    batches = metric(text, "servplat_batch_size_count")
    predictions = metric(text, "servplat_batch_size_sum")
    console.print(
        f"micro-batching: {predictions:.0f} predictions in {batches:.0f} backend calls "
        f"({predictions / max(1, batches):.1f} per call)"
    )
    agree = metric(text, "servplat_shadow_requests_total", outcome="agree")
    disagree = metric(text, "servplat_shadow_requests_total", outcome="disagree")
    console.print(
        f"shadow: every v1 request was copied to v2; v2 gave another label for "
        f"{disagree:.0f} of {agree + disagree:.0f} ({disagree / max(1, agree + disagree):.1%})"
    )


def _chat(console: Console, url: str) -> None:
    from openai import OpenAI

    console.rule("chat through the gateway (server-sent events passed through)")
    client = OpenAI(base_url=f"{url}/v1", api_key="demo", max_retries=0)
    question = "What is continuous batching?"
    console.print(f"[bold]user:[/bold] {question}\n[bold]chat:[/bold] ", end="")
    started = time.perf_counter()
    first = None
    stream = client.chat.completions.create(
        model="chat", stream=True, max_tokens=40, messages=[{"role": "user", "content": question}]
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter() - started
            console.print(chunk.choices[0].delta.content, end="", highlight=False)
    console.print(f"\n   first token after {1000 * (first or 0):.0f} ms", style="dim")


def _canary(console: Console, url: str, platform: Any) -> None:
    console.rule("canary: move scorer to 50/50 at run time")
    weights: dict[str, float] = {"scorer-v1": 50, "scorer-v2": 50}
    httpx.put(
        f"{url}/admin/routes/scorer", json={"variants": weights}, headers=platform.admin_headers()
    ).raise_for_status()
    results = asyncio.run(traffic(url, [f"canary-{i}" for i in range(400)]))
    console.print(split_table(results, weights, "scorer: 50/50"))


def _breaker(console: Console, url: str, platform: Any) -> None:
    console.rule("failure: scorer-v2 is killed")
    platform.stop_backend("scorer-v2")
    results = asyncio.run(traffic(url, [f"after-{i}" for i in range(200)]))
    statuses = Counter(r["status"] for r in results)
    served = Counter(r.get("variant") for r in results if r["status"] == 200)
    text = httpx.get(f"{url}/metrics").text
    state = httpx.get(f"{url}/admin/routes", headers=platform.admin_headers()).json()[0][
        "breakers"
    ]["scorer-v2"]
    console.print(
        f"200 requests: HTTP {dict(statuses)}, served by {dict(served)}; "
        f"{metric(text, 'servplat_fallbacks_total'):.0f} fallbacks so far"
    )
    console.print(
        f"scorer-v2 breaker: [red]{state}[/red] (opened after "
        f"{platform.config.backends['scorer-v2'].breaker.failure_threshold} failures; "
        "its users go to v1 without waiting for a timeout)"
    )
    platform.start_backend("scorer-v2")
    reset = platform.config.backends["scorer-v2"].breaker.reset_timeout
    console.print(
        f"scorer-v2 restarted; after the breaker's {reset:g} s timeout one trial "
        "request goes through"
    )
    deadline = time.monotonic() + reset + 20
    while time.monotonic() < deadline:
        asyncio.run(traffic(url, [f"probe-{time.monotonic()}-{i}" for i in range(20)]))
        state = httpx.get(f"{url}/admin/routes", headers=platform.admin_headers()).json()[0][
            "breakers"
        ]["scorer-v2"]
        if state == "closed":
            break
        time.sleep(1)
    text = httpx.get(f"{url}/metrics").text
    moves = {
        s: metric(text, "servplat_breaker_transitions_total", backend="scorer-v2", state=s)
        for s in ("open", "half_open", "closed")
    }
    console.print(f"scorer-v2 breaker: [green]{state}[/green]; transitions {moves}")


def _trace(console: Console, collector: Any) -> None:
    from aiinfra_shared.services.otel import collected_spans

    console.rule("one trace, as the OpenTelemetry collector received it")
    time.sleep(1.5)  # the exporters send every 0.5 s
    spans = collected_spans(collector.log_path)
    chats = [s for s in spans if s.name.startswith("/v1/chat/completions")]
    if not chats:
        console.print("no chat trace reached the collector", style="yellow")
        return
    trace = [s for s in spans if s.trace_id == chats[0].trace_id]
    by_parent: dict[str, list[Any]] = {}
    for span in trace:
        by_parent.setdefault(span.parent_id, []).append(span)
    tree = Tree(f"trace {chats[0].trace_id}")

    def add(node: Tree, parent: str) -> None:
        for span in by_parent.get(parent, []):
            add(
                node.add(f"{span.service}: {span.name} ({span.kind.removeprefix('SPAN_KIND_')})"),
                span.span_id,
            )

    add(tree, "")
    console.print(tree)
    services = Counter(s.service for s in spans)
    batches = [s for s in spans if s.name.startswith("batch ")]
    console.print(
        f"{len(spans)} spans from {dict(services)}; {len(batches)} batch spans, each "
        "linking the requests it served"
    )
