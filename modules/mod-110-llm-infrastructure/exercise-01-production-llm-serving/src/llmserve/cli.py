"""The ``llmserve`` command: build-model, serve, bench, demo.

Heavy imports (torch, transformers) happen inside the commands, so ``--help`` and argument
errors are instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aiinfra_shared.cliapp import console, package_app, run_typer
from llmserve.errors import LlmServeError
from llmserve.ui import settings_from, training_progress

app = package_app(
    "110-01: an OpenAI-compatible LLM server: continuous batching on CPU, vLLM on GPU."
)

Model = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="tiny (built here in seconds), smollm2 (the smollm2 extra) "
        "or a local model folder. Default $LLMSERVE_MODEL or tiny.",
    ),
]


@app.command("build-model")
def build_model(
    dest: Annotated[Path | None, typer.Option(help="Model folder (default: the cache).")] = None,
    corpus: Annotated[Path | None, typer.Option(help="A UTF-8 text file to train on.")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Training steps (default 300).")] = None,
) -> None:
    """Train the tiny Llama-style model and its tokenizer from a corpus (seconds, no hub)."""
    from llmserve.models import build_model as build
    from llmserve.models import tiny_dir

    target = dest or tiny_dir(settings_from().cache_dir)
    with training_progress("training the tiny model") as progress:
        record = build(target, corpus, steps, progress)
    console.print(
        f"built {target}: {record.parameters:,} parameters, {record.steps} steps, "
        f"loss {record.initial_loss:.2f} -> {record.final_loss:.2f} in "
        f"{record.seconds:.1f} s"
    )


@app.command()
def serve(
    model: Model = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8600).")] = None,
    max_batch_size: Annotated[
        int | None, typer.Option(help="Sequences decoded together; 1 turns batching off.")
    ] = None,
    engine: Annotated[str | None, typer.Option(help="cpu (default) or vllm (GPU).")] = None,
) -> None:
    """Serve the OpenAI-compatible API (POST /v1/chat/completions, /v1/completions, ...)."""
    import uvicorn

    from llmserve.server import build_app

    settings = settings_from(
        model=model, host=host, port=port, max_batch_size=max_batch_size, engine=engine
    )
    with training_progress("building the tiny model (once)") as progress:
        api = build_app(settings, progress)
    console.print(
        f"serving {settings.model} on http://{settings.host}:{settings.port}/v1 "
        f"(batch {settings.max_batch_size}, queue {settings.max_queue})"
    )
    uvicorn.run(
        api,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


@app.command()
def bench(
    model: Model = None,
    streams: Annotated[str, typer.Option(help="Concurrent streams to try, comma-separated.")] = (
        "1,8"
    ),
    requests: Annotated[int, typer.Option(min=1, help="Requests per run.")] = 32,
    max_tokens: Annotated[int, typer.Option(min=1, help="Tokens per answer.")] = 64,
    out: Annotated[Path, typer.Option(help="Where the PNG and JSON go.")] = Path(
        "artifacts/llmserve-bench"
    ),
) -> None:
    """Throughput and TTFT p50/p99 with batching on and off, over real HTTP streams."""
    from llmserve.bench import run_bench

    try:
        counts = sorted({int(s) for s in streams.split(",") if s.strip()})
    except ValueError:
        raise LlmServeError(f"--streams takes numbers like 1,8, got {streams!r}") from None
    if not counts or min(counts) < 1:
        raise LlmServeError("--streams needs at least one positive number")
    run_bench(
        console,
        settings_from(model=model),
        streams=counts,
        requests=requests,
        max_tokens=max_tokens,
        out=out,
    )


@app.command()
def demo(
    model: Model = None,
) -> None:
    """Start a server and show it working (what `aiinfra run 110-01` runs)."""
    from llmserve.demo import run_demo

    run_demo(console, settings_from(model=model))


main = run_typer(app)
