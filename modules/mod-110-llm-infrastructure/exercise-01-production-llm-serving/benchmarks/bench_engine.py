"""The engine alone, without HTTP: what continuous batching does to raw decode throughput.

    uv run aiinfra exec 110-01 -- python \
        modules/mod-110-llm-infrastructure/exercise-01-production-llm-serving/benchmarks/bench_engine.py

For each batch size, ``--requests`` greedy requests of exactly ``--max-tokens`` tokens are run
through ``CPUEngine.open`` by ``--streams`` concurrent readers in one process (no server, no
client), after a warm-up. Compare with ``llmserve bench``, which measures the same over HTTP:
the difference is what per-chunk HTTP work costs. Prints a markdown table and writes
bench_engine.json beside this file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from llmserve.config import Settings
from llmserve.engine import SamplingParams
from llmserve.engine.cpu import CPUEngine
from llmserve.models import resolve


async def run(engine: CPUEngine, streams: int, requests: int, max_tokens: int) -> float:
    """Tokens per second over ``requests`` requests, ``streams`` at a time."""
    params = SamplingParams(max_tokens=max_tokens, temperature=0, ignore_eos=True)
    prompt = engine.encode_prompt("The scheduler")
    todo = list(range(requests))
    tokens = 0

    async def reader() -> None:
        nonlocal tokens
        while todo:
            todo.pop()
            async for delta in engine.open(prompt, params):
                tokens += len(delta.token_ids)

    started = time.perf_counter()
    await asyncio.gather(*(reader() for _ in range(streams)))
    return tokens / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny", help="tiny, smollm2 or a model folder")
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    settings = Settings(model=args.model)
    path, name = resolve(settings.model, settings.cache_dir)
    rows = []
    for batch in (1, args.streams):
        engine = CPUEngine(path, name=name, max_batch_size=batch, max_queue=args.requests)
        engine.start()
        try:
            asyncio.run(run(engine, 2, 4, 8))  # warm-up
            rate = asyncio.run(run(engine, args.streams, args.requests, args.max_tokens))
        finally:
            engine.stop()
        rows.append(
            {"max_batch_size": batch, "streams": args.streams, "tokens_per_second": round(rate, 1)}
        )
    print(f"| {name}: max_batch_size | streams | tokens/s |")
    print("|---:|---:|---:|")
    for row in rows:
        print(f"| {row['max_batch_size']} | {row['streams']} | {row['tokens_per_second']:.0f} |")
    print(f"\nbatching {rows[1]['tokens_per_second'] / rows[0]['tokens_per_second']:.1f}x")
    (Path(__file__).parent / "bench_engine.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
