"""Prometheus and Alertmanager (Debian packages) on loopback, plus ``promtool``.

Prometheus gets a generated config (it scrapes itself unless told otherwise), a short
evaluation interval and ``--rules.alert.resend-delay=1s`` so alerts reach Alertmanager in
seconds rather than after the default minute.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiinfra_shared.services.base import (
    LOOPBACK,
    RunningService,
    ServiceError,
    find_binary,
    http_ok,
    run_service,
    workdir_for,
)

INSTALL_HINT = (
    "sudo apt-get install prometheus prometheus-alertmanager prometheus-pushgateway "
    "prometheus-node-exporter   (or: bash scripts/install-system-deps.sh)"
)


def promtool() -> str:
    """Path to ``promtool`` (checks configs and unit-tests rules)."""
    return find_binary("promtool", INSTALL_HINT)


@dataclass(frozen=True)
class PromtoolResult:
    """Outcome of one promtool call: success and its combined output."""

    ok: bool
    output: str


def run_promtool(*args: str, cwd: Path | str | None = None) -> PromtoolResult:
    """Run ``promtool ARGS`` (e.g. ``"test", "rules", "x.test.yml"``) in ``cwd``.

    Rule unit-test files name their rule files relative to themselves, so run them from
    their folder. A failing check is a result with ``ok=False``, not an exception.
    """
    done = subprocess.run([promtool(), *args], capture_output=True, text=True, cwd=cwd, check=False)
    return PromtoolResult(done.returncode == 0, (done.stdout + done.stderr).strip())


@contextmanager
def prometheus(
    *,
    scrape_targets: Sequence[str] = (),
    rule_files: Sequence[Path | str] = (),
    alertmanager_url: str | None = None,
    interval: str = "1s",
    config: dict[str, Any] | Callable[[int], dict[str, Any]] | None = None,
    port: int | None = None,
    workdir: Path | str | None = None,
    timeout: float = 30.0,
) -> Iterator[RunningService]:
    """Start a Prometheus server.

    Args:
        scrape_targets: ``host:port`` targets scraped at ``interval`` (job ``targets``).
        rule_files: Alerting/recording rule files to load.
        alertmanager_url: ``http://127.0.0.1:PORT`` of an Alertmanager to notify.
        interval: Scrape and rule evaluation interval.
        config: A complete config dict instead of the generated one, or a function of the
            port Prometheus will listen on that returns it (so it can scrape itself).
        port: Fixed port, or None for a free one.
        workdir: Data folder (temporary by default).
        timeout: Seconds to wait for ``/-/ready``.

    Yields:
        The service; ``url`` is its HTTP API base, ``env`` sets ``AIINFRA_PROMETHEUS_URL``.
    """
    binary = find_binary("prometheus", INSTALL_HINT)
    with workdir_for("prometheus", workdir) as wd:
        config_path = wd / "prometheus.yml"

        def argv(p: int) -> list[str]:
            if callable(config):
                cfg = config(p)
            else:
                cfg = config or _default_config(
                    p, scrape_targets, rule_files, alertmanager_url, interval
                )
            config_path.write_text(json.dumps(cfg, indent=2))  # JSON is valid YAML
            return [
                binary,
                f"--config.file={config_path}",
                f"--web.listen-address={LOOPBACK}:{p}",
                f"--storage.tsdb.path={wd / 'data'}",
                "--web.enable-lifecycle",
                "--rules.alert.resend-delay=1s",
            ]

        with run_service(
            "prometheus",
            argv=argv,
            ready=lambda p: http_ok(f"http://{LOOPBACK}:{p}/-/ready"),
            url=lambda p: f"http://{LOOPBACK}:{p}",
            client_env=lambda p: {"AIINFRA_PROMETHEUS_URL": f"http://{LOOPBACK}:{p}"},
            workdir=wd,
            port=port,
            timeout=timeout,
            extra={"config_path": config_path},
        ) as service:
            yield service


def _default_config(
    port: int,
    targets: Sequence[str],
    rule_files: Sequence[Path | str],
    alertmanager_url: str | None,
    interval: str,
) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [
            {"job_name": "prometheus", "static_configs": [{"targets": [f"{LOOPBACK}:{port}"]}]}
        ],
        "rule_files": [str(Path(f).resolve()) for f in rule_files],
    }
    if targets:
        cfg["scrape_configs"].append(
            {"job_name": "targets", "static_configs": [{"targets": list(targets)}]}
        )
    if alertmanager_url:
        host = alertmanager_url.split("://", 1)[-1].rstrip("/")
        cfg["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [host]}]}]}
    return cfg


@contextmanager
def alertmanager(
    *,
    config: dict[str, Any] | None = None,
    port: int | None = None,
    workdir: Path | str | None = None,
    timeout: float = 30.0,
) -> Iterator[RunningService]:
    """Start Alertmanager (clustering off, loopback only).

    Args:
        config: Its config dict; by default one receiver that notifies nobody.
        port: Fixed port, or None for a free one.
        workdir: Data folder (temporary by default).
        timeout: Seconds to wait for ``/-/ready``.

    Yields:
        The service; ``env`` sets ``AIINFRA_ALERTMANAGER_URL``.
    """
    binary = find_binary(
        "prometheus-alertmanager",
        INSTALL_HINT,
        ["/usr/bin/alertmanager", "/usr/local/bin/alertmanager"],
    )
    cfg = config or {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}
    with workdir_for("alertmanager", workdir) as wd:
        config_path = wd / "alertmanager.yml"
        config_path.write_text(json.dumps(cfg, indent=2))
        with run_service(
            "alertmanager",
            argv=lambda p: [
                binary,
                f"--config.file={config_path}",
                f"--storage.path={wd / 'data'}",
                f"--web.listen-address={LOOPBACK}:{p}",
                "--cluster.listen-address=",
            ],
            ready=lambda p: http_ok(f"http://{LOOPBACK}:{p}/-/ready"),
            url=lambda p: f"http://{LOOPBACK}:{p}",
            client_env=lambda p: {"AIINFRA_ALERTMANAGER_URL": f"http://{LOOPBACK}:{p}"},
            workdir=wd,
            port=port,
            timeout=timeout,
        ) as service:
            yield service


@contextmanager
def pushgateway(
    *, port: int | None = None, workdir: Path | str | None = None, timeout: float = 20.0
) -> Iterator[RunningService]:
    """Start a Pushgateway (batch jobs push metrics to it; Prometheus scrapes it).

    Pushed groups persist in ``workdir/pushgateway.db`` across restarts of the same workdir.

    Yields:
        The service; ``env`` sets ``AIINFRA_PUSHGATEWAY_URL``.
    """
    binary = find_binary("prometheus-pushgateway", INSTALL_HINT, ["/usr/bin/pushgateway"])
    with (
        workdir_for("pushgateway", workdir) as wd,
        run_service(
            "pushgateway",
            argv=lambda p: [
                binary,
                f"--web.listen-address={LOOPBACK}:{p}",
                f"--persistence.file={wd / 'pushgateway.db'}",
                "--persistence.interval=1s",
            ],
            ready=lambda p: http_ok(f"http://{LOOPBACK}:{p}/-/ready"),
            url=lambda p: f"http://{LOOPBACK}:{p}",
            client_env=lambda p: {"AIINFRA_PUSHGATEWAY_URL": f"http://{LOOPBACK}:{p}"},
            workdir=wd,
            port=port,
            timeout=timeout,
        ) as service,
    ):
        yield service


@contextmanager
def node_exporter(
    *, port: int | None = None, workdir: Path | str | None = None, timeout: float = 20.0
) -> Iterator[RunningService]:
    """Start the node exporter (this machine's CPU, memory, disk and network metrics).

    Only the collectors that work unprivileged in a container are on by default; ``systemd``
    and the like are off.

    Yields:
        The service; ``url`` is its base (metrics on ``/metrics``).
    """
    binary = find_binary("prometheus-node-exporter", INSTALL_HINT, ["/usr/bin/node_exporter"])
    with (
        workdir_for("node-exporter", workdir) as wd,
        run_service(
            "node-exporter",
            argv=lambda p: [
                binary,
                f"--web.listen-address={LOOPBACK}:{p}",
                "--collector.disable-defaults",
                *(
                    f"--collector.{name}"
                    for name in ("cpu", "meminfo", "loadavg", "filesystem", "netdev", "stat")
                ),
            ],
            ready=lambda p: http_ok(f"http://{LOOPBACK}:{p}/metrics"),
            url=lambda p: f"http://{LOOPBACK}:{p}",
            client_env=lambda p: {},
            workdir=wd,
            port=port,
            timeout=timeout,
        ) as service,
    ):
        yield service


@dataclass(frozen=True)
class Sample:
    """One series of an instant query: its labels and its value."""

    labels: dict[str, str]
    value: float


def _api(url: str, path: str, params: dict[str, str], timeout: float) -> Any:
    query = urllib.parse.urlencode(params)
    full = f"{url.rstrip('/')}{path}" + (f"?{query}" if query else "")
    try:
        with urllib.request.urlopen(full, timeout=timeout) as response:  # noqa: S310 (http URL)
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise ServiceError(f"Prometheus {path} answered HTTP {exc.code}: {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ServiceError(f"Prometheus at {url} is not reachable: {exc}") from exc
    if body.get("status") != "success":
        raise ServiceError(f"Prometheus {path} failed: {body.get('error', body)}")
    return body["data"]


def query(url: str, expr: str, *, timeout: float = 10.0) -> list[Sample]:
    """Evaluate a PromQL instant query on the Prometheus at ``url``.

    Args:
        url: Prometheus base URL (``RunningService.url``, ``AIINFRA_PROMETHEUS_URL``).
        expr: The PromQL expression.
        timeout: Seconds for the HTTP call.

    Returns:
        One :class:`Sample` per series (a scalar result gives one sample without labels).

    Raises:
        ServiceError: Prometheus is unreachable or rejects the expression (its message).
    """
    data = _api(url, "/api/v1/query", {"query": expr}, timeout)
    if data["resultType"] in ("scalar", "string"):
        return [Sample({}, float(data["result"][1]))]
    return [Sample(dict(r["metric"]), float(r["value"][1])) for r in data["result"]]


def query_range(
    url: str, expr: str, *, start: float, end: float, step: float, timeout: float = 10.0
) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    """Evaluate ``expr`` over ``[start, end]`` (Unix seconds) every ``step`` seconds.

    Returns:
        One ``(labels, [(timestamp, value), ...])`` per series.
    """
    params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
    data = _api(url, "/api/v1/query_range", params, timeout)
    return [
        (dict(r["metric"]), [(float(t), float(v)) for t, v in r["values"]]) for r in data["result"]
    ]


def alerts(url: str, *, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Active alerts (``state`` pending or firing) with their labels and annotations."""
    return list(_api(url, "/api/v1/alerts", {}, timeout)["alerts"])


def wait_for(
    url: str,
    expr: str,
    condition: Callable[[list[Sample]], bool],
    *,
    timeout: float = 30.0,
    interval: float = 0.25,
) -> list[Sample]:
    """Poll ``expr`` until ``condition(samples)`` holds; returns those samples.

    Raises:
        ServiceError: Not within ``timeout`` seconds (the message shows the last result).
    """
    deadline = time.monotonic() + timeout
    samples: list[Sample] = []
    while time.monotonic() < deadline:
        samples = query(url, expr)
        if condition(samples):
            return samples
        time.sleep(interval)
    raise ServiceError(f"waited {timeout:.0f} s for {expr!r}; last result: {samples}")
