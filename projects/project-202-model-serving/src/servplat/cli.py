"""The ``servplat`` command: gateway, backend, up, demo, bench."""

from __future__ import annotations

import signal
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer

from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from, sub_app
from servplat.config import Settings
from servplat.errors import ServplatError

app = package_app(
    "202: a model-serving platform: a gateway with A/B splits, batching, SSE streaming, "
    "circuit breakers and traces, in front of real model servers."
)
backend = sub_app("Run one model server (the gateway's backends).")
app.add_typer(backend, name="backend")

ConfigPath = Annotated[
    Path | None,
    typer.Option("--config", help="Platform YAML (default: the shipped one)."),
]
Port = Annotated[int | None, typer.Option(help="Port (default: the setting).")]
Host = Annotated[str, typer.Option(help="Bind address.")]


def _settings(**overrides: Any) -> Settings:
    """Settings from the environment, with command-line values on top.

    Raises:
        ServplatError: A value fails validation.
    """
    return settings_from(Settings, ServplatError, **overrides)


def _serve(asgi: Any, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(asgi, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)


@app.command()
def gateway(config: ConfigPath = None, host: Host = "127.0.0.1", port: Port = None) -> None:
    """Serve the gateway for a config whose backends all have a url."""
    from servplat.gateway import create_app
    from servplat.routing import load_config

    settings = _settings(config=config, port=port)
    key = settings.admin_key.get_secret_value() if settings.admin_key else None
    _serve(create_app(load_config(settings.config), admin_key=key), host, settings.port)


@backend.command("classic")
def backend_classic(
    version: Annotated[str, typer.Option(help="v1 (logistic regression) or v2 (boosted trees).")],
    port: Annotated[int, typer.Option(help="Port.")] = 8711,
    host: Host = "127.0.0.1",
    delay_ms: Annotated[float, typer.Option(help="Extra delay per call (fault injection).")] = 0,
) -> None:
    """A loan-default scorer: POST /v1/predict {"instances": [[5 numbers], ...]}."""
    from servplat.backends.classic import VERSIONS, create_app

    if version not in VERSIONS:
        raise ServplatError(f"unknown version {version!r}; choose one of {', '.join(VERSIONS)}")
    _serve(create_app(version, delay_ms=delay_ms), host, port)


@backend.command("llm")
def backend_llm(
    model: Annotated[str, typer.Option(help="tiny, smollm2 (extra) or a model folder.")] = "tiny",
    port: Annotated[int, typer.Option(help="Port.")] = 8712,
    host: Host = "127.0.0.1",
    max_queue: Annotated[
        int, typer.Option(min=1, help="Requests waiting or generating; more get 429.")
    ] = 16,
) -> None:
    """An OpenAI-compatible LLM server (one request at a time; see 110-01 for batching)."""
    from servplat.backends.llm import create_app

    _serve(create_app(model, _settings().cache_dir, max_queue=max_queue), host, port)


@app.command()
def up(config: ConfigPath = None, port: Port = None) -> None:
    """Start every backend of a config and the gateway; Ctrl-C or SIGTERM stops them all."""
    from servplat.platform import run_platform
    from servplat.routing import load_config

    settings = _settings(config=config, port=port)
    platform_config = load_config(settings.config)
    env = {"SERVPLAT_CACHE_DIR": str(settings.cache_dir)}
    key = settings.admin_key.get_secret_value() if settings.admin_key else None

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    # Before anything starts: a SIGTERM while the backends load must stop them too (the
    # default action would kill this process and leave its children running).
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        with ExitStack() as stack:
            with console.status("starting backends and the gateway"):
                running = stack.enter_context(
                    run_platform(platform_config, env=env, gateway_port=settings.port,
                                 admin_key=key)
                )  # fmt: skip
            for name, service in running.backends.items():
                console.print(f"backend {name}: {service.url} (pid {service.pid})")
            console.print(
                f"[bold]gateway: {running.gateway.url}[/bold]  (Ctrl-C or SIGTERM stops everything)"
            )
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        console.print("stopped: the gateway and every backend")


@app.command()
def demo(
    requests: Annotated[int, typer.Option(min=100, help="Scorer requests for the split.")] = 1000,
) -> None:
    """Two model versions 90/10, the observed split, a streamed chat, a breaker tripping."""
    from servplat.demo import run_demo

    run_demo(console, _settings(), requests=requests)


@app.command()
def bench(
    requests: Annotated[int, typer.Option(min=10, help="Requests per run.")] = 400,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight.")] = 16,
    out: Annotated[Path, typer.Option(help="Where bench.json goes.")] = Path(
        "artifacts/servplat-bench"
    ),
) -> None:
    """Gateway overhead against calling the backend directly, and batching on against off."""
    from servplat.bench import run_bench

    run_bench(console, _settings(), requests=requests, concurrency=concurrency, out=out)


main = run_typer(app)
