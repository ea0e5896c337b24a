"""Run the whole platform locally: every ``launch`` backend as its own process, then the gateway.

Each backend is ``python -m servplat backend ...`` on a free loopback port (started in parallel:
training a scorer or loading a model takes seconds each); the gateway gets a copy of the
config with their URLs filled in. A backend can be stopped and started again on its port
(:meth:`Platform.stop_backend`, :meth:`Platform.start_backend`), which is how the demo and the
tests make a backend fail for real.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from aiinfra_shared.services import RunningService, http_process
from aiinfra_shared.services.base import workdir_for
from servplat.errors import ConfigError
from servplat.routing import BackendConfig, PlatformConfig


def backend_argv(config: BackendConfig, port: int) -> list[str]:
    """The command line of a launched backend.

    Raises:
        ConfigError: ``launch`` lacks what the kind needs.
    """
    launch = dict(config.launch or {})
    argv = [sys.executable, "-m", "servplat", "backend", config.kind, "--port", str(port)]
    if config.kind == "classic":
        if "version" not in launch:
            raise ConfigError("a classic backend's launch needs a version (v1 or v2)")
        argv += ["--version", launch.pop("version")]
        if "delay_ms" in launch:
            argv += ["--delay-ms", launch.pop("delay_ms")]
    else:
        argv += ["--model", launch.pop("model", "tiny")]
        if "max_queue" in launch:
            argv += ["--max-queue", str(launch.pop("max_queue"))]
    if launch:
        raise ConfigError(f"unknown launch settings for a {config.kind} backend: {list(launch)}")
    return argv


def backend_process(
    name: str,
    config: BackendConfig,
    *,
    env: Mapping[str, str],
    workdir: Path,
    port: int | None = None,
) -> AbstractContextManager[RunningService]:
    """A launched backend (an LLM backend may build its model first: up to a minute)."""
    backend_argv(config, 0)  # refuse a bad launch table before starting anything
    return http_process(
        f"backend-{name}",
        lambda p: backend_argv(config, p),
        env=dict(env),
        workdir=workdir,
        port=port,
        timeout=180,
    )


@dataclass
class Platform:
    """A running platform: its gateway, its launched backends, the resolved config."""

    backends: dict[str, RunningService]
    config: PlatformConfig
    workdir: Path
    env: dict[str, str]
    _stacks: dict[str, ExitStack] = field(default_factory=dict)
    admin_key: str | None = None
    _gateway: RunningService | None = None

    def admin_headers(self) -> dict[str, str]:
        """The header that opens the gateway's admin API."""
        return {"Authorization": f"Bearer {self.admin_key}"} if self.admin_key else {}

    @property
    def gateway(self) -> RunningService:
        """The gateway (started after every backend is up)."""
        if self._gateway is None:
            raise RuntimeError("the gateway has not started yet")
        return self._gateway

    def stop_backend(self, name: str) -> None:
        """Stop a launched backend (its port stays reserved for :meth:`start_backend`)."""
        self._stacks.pop(name).close()

    def start_backend(self, name: str) -> RunningService:
        """Start a stopped backend again on the port it had."""
        stack = ExitStack()
        service = stack.enter_context(
            backend_process(
                name,
                self.config.backends[name],
                env=self.env,
                workdir=self.workdir / name,
                port=self.backends[name].port,
            )
        )
        self._stacks[name] = stack
        self.backends[name] = service
        return service

    def close(self) -> None:
        """Stop every backend still running."""
        for name in list(self._stacks):
            self.stop_backend(name)


@contextmanager
def run_platform(
    config: PlatformConfig,
    *,
    env: Mapping[str, str] | None = None,
    workdir: Path | None = None,
    gateway_port: int | None = None,
    admin_key: str | None = None,
) -> Iterator[Platform]:
    """Start the backends, then the gateway; stop everything on exit.

    Args:
        config: Backends and routes; those with ``launch`` are started here.
        env: Extra environment for every process (``OTEL_EXPORTER_OTLP_ENDPOINT``,
            ``SERVPLAT_CACHE_DIR``...).
        workdir: Where logs and the resolved config go (temporary by default).
        gateway_port: A fixed gateway port.
        admin_key: The gateway's admin key (``SERVPLAT_ADMIN_KEY``); None: admin API off.
    """
    env = dict(env or {})
    with ExitStack() as outer:
        wd = outer.enter_context(workdir_for("servplat", workdir))
        launched = [name for name, b in config.backends.items() if b.launch is not None]
        stacks = {name: ExitStack() for name in launched}

        def start(name: str) -> RunningService:
            return stacks[name].enter_context(
                backend_process(name, config.backends[name], env=env, workdir=wd / name)
            )

        platform = Platform(
            backends={}, config=config, workdir=wd, env=env, _stacks=stacks, admin_key=admin_key
        )
        outer.callback(platform.close)
        with ThreadPoolExecutor(max_workers=max(1, len(launched))) as pool:
            futures = {name: pool.submit(start, name) for name in launched}
            failures = []
            for name, future in futures.items():
                try:
                    platform.backends[name] = future.result()
                except Exception as exc:  # report every backend that failed, then stop
                    failures.append(f"{name}: {exc}")
        if failures:
            raise ConfigError("backends failed to start: " + "; ".join(failures))

        resolved = config.model_copy(deep=True)
        for name, service in platform.backends.items():
            resolved.backends[name].url = service.url
        path = wd / "platform.resolved.yaml"
        path.write_text(
            yaml.safe_dump(resolved.model_dump(mode="json", exclude_none=True), sort_keys=False)
        )
        platform.config = resolved
        argv = [sys.executable, "-m", "servplat", "gateway", "--config", str(path), "--port"]
        gateway_env = {**env, **({"SERVPLAT_ADMIN_KEY": admin_key} if admin_key else {})}
        platform._gateway = outer.enter_context(
            http_process(
                "gateway",
                lambda p: [*argv, str(p)],
                env=gateway_env,
                workdir=wd / "gateway",
                port=gateway_port,
                timeout=60,
            )
        )
        yield platform
