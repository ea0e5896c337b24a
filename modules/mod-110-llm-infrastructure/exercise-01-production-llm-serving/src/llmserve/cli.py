"""The ``llmserve`` command: build-model, serve, bench, demo.

Heavy imports (torch, transformers) happen inside the commands, so ``--help`` and argument
errors are instant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from aiinfra_shared.entrypoint import run_typer
from aiinfra_shared.logging import configure
from llmserve.config import Settings
from llmserve.errors import LlmServeError

app = typer.Typer(
    help="110-01: an OpenAI-compatible LLM server: continuous batching on CPU, vLLM on GPU.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()

Model = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="tiny (built here in seconds), smollm2 (the smollm2 extra) "
        "or a local model folder. Default $LLMSERVE_MODEL or tiny.",
    ),
]


def settings_from(**overrides: Any) -> Settings:
    """Settings from the environment, with command-line values on top.

    Raises:
        LlmServeError: A value fails validation.
    """
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**values)
    except ValueError as exc:
        raise LlmServeError(f"invalid settings: {exc}") from None


@contextmanager
def training_progress(label: str) -> Iterator[Callable[[int, int, float], None]]:
    """A Rich progress bar fed by ``progress(step, steps, loss)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.3f}"),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("", total=None, loss=float("nan"))

        def update(step: int, steps: int, loss: float) -> None:
            bar.update(task, completed=step, total=steps, loss=loss)

        yield update


@app.callback()
def _setup() -> None:
    """Configure logging once for every sub-command."""
    configure()


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
