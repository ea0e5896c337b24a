"""``llmserve bench``: what continuous batching buys, measured over real HTTP streams.

Two servers are started in turn on the same model: batching on (``max_batch_size`` = the most
concurrent streams tried) and batching off (``max_batch_size = 1``, one request at a time).
For each number of concurrent streams, ``requests`` streamed completions are sent through the
official ``openai`` client (``AsyncOpenAI``) with greedy decoding and exactly ``max_tokens``
tokens each (``ignore_eos``, as vLLM's benchmarks do).
Reported per run: generated tokens per second over the run's wall time, time to first token
(p50/p99) and request latency (p50). The first request to each server is a warm-up and is
not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from aiinfra_shared.tinylm.corpus import SUBJECTS
from llmserve.config import Settings
from llmserve.errors import LlmServeError


@dataclass(frozen=True)
class RunResult:
    """One (mode, streams) run."""

    mode: str
    max_batch_size: int
    streams: int
    requests: int
    completion_tokens: int
    seconds: float
    tokens_per_second: float
    ttft_p50_ms: float
    ttft_p99_ms: float
    latency_p50_ms: float
    errors: int


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def prompts(count: int) -> list[str]:
    """Completion prompts in the tiny model's domain (any model continues them)."""
    return [SUBJECTS[i % len(SUBJECTS)].capitalize() for i in range(count)]


async def _one(
    client: object, model: str, prompt: str, max_tokens: int
) -> tuple[float, float, int]:
    """Stream one completion: (seconds to first text, total seconds, completion tokens)."""
    started = time.perf_counter()
    first: float | None = None
    tokens = 0
    stream = await client.completions.create(  # type: ignore[attr-defined]
        model=model,
        prompt=prompt,
        max_tokens=max_tokens,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].text and first is None:
            first = time.perf_counter() - started
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
    total = time.perf_counter() - started
    return (first if first is not None else total), total, tokens


async def load(
    url: str, model: str, *, streams: int, requests: int, max_tokens: int, mode: str, batch: int
) -> RunResult:
    """``requests`` streamed completions, ``streams`` at a time."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=f"{url}/v1", api_key="bench", max_retries=0, timeout=300)
    todo = list(enumerate(prompts(requests)))
    results: list[tuple[float, float, int]] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        while todo:
            _, prompt = todo.pop(0)
            try:
                results.append(await _one(client, model, prompt, max_tokens))
            except Exception:  # the table counts failures instead of stopping the run
                errors += 1

    await _one(client, model, "The scheduler", 4)  # warm-up, not counted
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(streams)))
    seconds = time.perf_counter() - started
    await client.close()
    tokens = sum(r[2] for r in results)
    return RunResult(
        mode=mode,
        max_batch_size=batch,
        streams=streams,
        requests=requests,
        completion_tokens=tokens,
        seconds=round(seconds, 3),
        tokens_per_second=round(tokens / seconds, 1),
        ttft_p50_ms=round(percentile([r[0] for r in results], 50) * 1000, 1),
        ttft_p99_ms=round(percentile([r[0] for r in results], 99) * 1000, 1),
        latency_p50_ms=round(percentile([r[1] for r in results], 50) * 1000, 1),
        errors=errors,
    )


def run_bench(
    console: Console,
    settings: Settings,
    *,
    streams: list[int],
    requests: int,
    max_tokens: int,
    out: Path,
) -> list[RunResult]:
    """Both modes, every stream count; table, ``bench.json`` and ``bench.png`` in ``out``."""
    from llmserve.models import resolve
    from llmserve.server import server_process
    from llmserve.ui import training_progress

    with training_progress("building the tiny model (once)") as progress:
        _, name = resolve(settings.model, settings.cache_dir, progress)
    most = max(streams)
    results: list[RunResult] = []
    for mode, batch in (("batching on", most), ("batching off", 1)):
        env = {
            "LLMSERVE_MODEL": settings.model,
            "LLMSERVE_CACHE_DIR": str(settings.cache_dir),
            "LLMSERVE_MAX_BATCH_SIZE": str(batch),
            "LLMSERVE_MAX_QUEUE": str(requests + most),
            "LLMSERVE_MAX_TOKENS_LIMIT": str(max(max_tokens, 16)),
            "LLMSERVE_REQUEST_TIMEOUT": "600",
        }
        console.print(f"{mode}: a server with max_batch_size={batch}", style="dim")
        with server_process(env) as server:
            for count in streams:
                console.print(f"  {requests} requests, {count} at a time", style="dim")
                results.append(
                    asyncio.run(
                        load(
                            server.url,
                            name,
                            streams=count,
                            requests=requests,
                            max_tokens=max_tokens,
                            mode=mode,
                            batch=batch,
                        )
                    )
                )
    if any(r.errors for r in results):
        failed = sum(r.errors for r in results)
        console.print(f"[yellow]{failed} requests failed; their runs are partial[/yellow]")
    print_table(console, results, name, max_tokens)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    plot(results, out / "bench.png")
    console.print(f"report: {out / 'bench.json'}\nplot: {out / 'bench.png'}")
    return results


def speedup(results: list[RunResult], streams: int) -> float:
    """Throughput with batching over throughput without, at ``streams``.

    Raises:
        LlmServeError: A run is missing.
    """
    on = [r for r in results if r.mode == "batching on" and r.streams == streams]
    off = [r for r in results if r.mode == "batching off" and r.streams == streams]
    if not on or not off or not off[0].tokens_per_second:
        raise LlmServeError(f"no pair of runs at {streams} streams")
    return on[0].tokens_per_second / off[0].tokens_per_second


def print_table(console: Console, results: list[RunResult], model: str, max_tokens: int) -> None:
    """The runs as a table, then the speed-up at the most streams."""
    table = Table(title=f"{model}: streamed completions of {max_tokens} tokens")
    for column in (
        "batching",
        "batch",
        "streams",
        "tokens/s",
        "TTFT p50 ms",
        "TTFT p99 ms",
        "latency p50 ms",
        "errors",
    ):
        table.add_column(column, justify="left" if column == "batching" else "right")
    for r in results:
        table.add_row(
            r.mode.removeprefix("batching "),
            str(r.max_batch_size),
            str(r.streams),
            f"{r.tokens_per_second:.0f}",
            f"{r.ttft_p50_ms:.0f}",
            f"{r.ttft_p99_ms:.0f}",
            f"{r.latency_p50_ms:.0f}",
            str(r.errors),
        )
    console.print(table)
    most = max(r.streams for r in results)
    with contextlib.suppress(LlmServeError):  # no pair of runs at that count: no ratio
        console.print(
            f"batching on vs off at {most} streams: {speedup(results, most):.1f}x the throughput"
        )


def plot(results: list[RunResult], path: Path) -> Path:
    """Throughput and TTFT p50 against concurrent streams, one line per mode (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    for mode in dict.fromkeys(r.mode for r in results):
        runs = [r for r in results if r.mode == mode]
        xs = [r.streams for r in runs]
        left.plot(xs, [r.tokens_per_second for r in runs], marker="o", label=mode)
        right.plot(xs, [r.ttft_p50_ms for r in runs], marker="o", label=mode)
    left.set(xlabel="concurrent streams", ylabel="tokens / s", title="throughput")
    right.set(xlabel="concurrent streams", ylabel="ms", title="time to first token (p50)")
    for ax in (left, right):
        ax.set_xticks(sorted({r.streams for r in results}))
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
