"""Deployment: a health gate, then a canary rollout that rolls itself back.

Each model version runs in its own ``mlcicd serve`` subprocess. A router in front of them
sends each request to the canary with the current weight and otherwise to the stable
version; a request the canary fails (5xx, timeout, refused connection) is retried on the
stable version, so clients see no failure while a bad version is being caught. At each step
the controller reads both servers' Prometheus ``/metrics`` (request counts by status and
the latency histogram of ``/predict``) and compares the deltas over the step:

- the canary's error rate must stay under ``max_error_rate``;
- its p95 latency must stay under ``max_p95_ms`` and under ``max_latency_ratio`` times the
  stable version's p95 over the same window (histogram buckets are coarse: a ratio only
  counts above ``latency_floor_ms``).

A breach sets the canary's weight to 0, stops it, and tags the version with the reason; the
``production`` alias never moved. After the last step the candidate becomes ``production``
(the old one ``previous``) and the old server is stopped.
"""

from __future__ import annotations

import contextlib
import random
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from prometheus_client import Counter
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aiinfra_shared.metrics import metrics_app, new_registry
from aiinfra_shared.services.base import ServiceError, free_port
from aiinfra_shared.services.http import http_process
from mlcicd import registry as reg
from mlcicd.config import Settings
from mlcicd.data import FEATURES, generate
from mlcicd.errors import MlcicdError

ROUTE = "/predict"


@dataclass
class Thresholds:
    """When a canary is rolled back."""

    max_error_rate: float = 0.02
    #: the latency SLO: a canary slower than this at p95 is rolled back whatever stable does
    max_p95_ms: float = 400.0
    #: ... and one slower than this many times stable's p95 (when above latency_floor_ms)
    max_latency_ratio: float = 4.0
    latency_floor_ms: float = 100.0
    min_requests: int = 20
    min_window_s: float = 1.0
    max_window_s: float = 8.0


def parse_steps(text: str) -> list[int]:
    """``"10,50,100"`` -> [10, 50, 100]; increasing percentages ending at 100."""
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise MlcicdError(f"steps: expected percentages like 10,50,100, got {text!r}") from None
    if not steps or steps[-1] != 100 or any(not 0 < s <= 100 for s in steps):
        raise MlcicdError(f"steps: percentages in 1..100 ending at 100, got {text!r}")
    if steps != sorted(set(steps)):
        raise MlcicdError(f"steps: must increase, got {text!r}")
    return steps


# ------------------------------------------------------------------------ servers


@dataclass
class Backend:
    """A running ``mlcicd serve`` subprocess for one version."""

    version: str
    url: str
    stack: contextlib.ExitStack

    def stop(self) -> None:
        self.stack.close()


def start_server(settings: Settings, version: str, workdir: Path) -> Backend:
    """Start a model server on ``version``; raises MlcicdError when it does not come up."""
    argv = [
        sys.executable, "-m", "mlcicd", "serve", "--registry", str(settings.registry.resolve()),
        "--version", version,
    ]  # fmt: skip
    stack = contextlib.ExitStack()
    try:
        service = stack.enter_context(
            http_process(
                f"model-v{version}",
                lambda port: [*argv, "--port", str(port)],
                health_path="/health",
                port=free_port(),
                workdir=workdir,
                timeout=60,
            )
        )
    except ServiceError as exc:
        stack.close()
        lines = [line for line in str(exc).splitlines() if line.strip()]
        reason = next((ln for ln in reversed(lines) if "error" in ln.lower()), lines[0])
        raise MlcicdError(f"version {version} did not start: {reason.strip()[:300]}") from None
    return Backend(version, service.url, stack)


def sample_rows(count: int = 16, seed: int = 99) -> list[dict[str, Any]]:
    """Applications to send (smoke tests and synthetic traffic)."""
    frame = generate(count, seed)[list(FEATURES)]
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def smoke_check(url: str, rows: list[dict[str, Any]]) -> tuple[bool, str]:
    """Health answers, and the sample rows score to finite probabilities in [0, 1]."""
    try:
        health = httpx.get(f"{url}/health", timeout=5)
        answer = httpx.post(f"{url}{ROUTE}", json={"rows": rows}, timeout=10)
    except httpx.HTTPError as exc:
        return False, f"{type(exc).__name__}: {exc}"
    if health.status_code != 200:
        return False, f"/health answered {health.status_code}"
    if answer.status_code != 200:
        return False, f"{ROUTE} answered {answer.status_code}: {answer.text[:200]}"
    probabilities = answer.json().get("probabilities", [])
    if len(probabilities) != len(rows) or not all(0 <= p <= 1 for p in probabilities):
        return False, f"{ROUTE} returned {len(probabilities)} probabilities for {len(rows)} rows"
    return True, f"/health ok, {len(rows)} rows scored, version {health.json()['version']}"


def smoke(
    settings: Settings, *, version: str | None = None, alias: str | None = None
) -> tuple[bool, str]:
    """Start the version's server, smoke-check it, stop it."""
    import tempfile

    number = reg.resolve(settings, version=version, alias=alias)
    with tempfile.TemporaryDirectory(prefix="mlcicd-smoke-") as tmp:
        try:
            backend = start_server(settings, number, Path(tmp))
        except MlcicdError as exc:
            return False, str(exc)
        try:
            # two rounds: a model that fails only some calls is more likely caught
            for _ in range(2):
                ok, evidence = smoke_check(backend.url, sample_rows())
                if not ok:
                    return False, f"version {number}: {evidence}"
            return True, f"version {number}: {evidence}"
        finally:
            backend.stop()


# ------------------------------------------------------------------------- router


class Router:
    """Weighted routing between a stable and a canary backend, retrying canary failures."""

    def __init__(self, stable_url: str, timeout: float = 5.0) -> None:
        self.stable_url = stable_url
        self.canary_url: str | None = None
        self.weight = 0.0
        self.timeout = timeout
        self._rng = random.Random(7)  # noqa: S311 - traffic split, not security
        self._client: httpx.AsyncClient | None = None
        registry = new_registry()
        self.requests = Counter("mlcicd_router_requests_total", "Requests by the backend that "
                                "answered.", ("backend",), registry=registry)  # fmt: skip
        self.retries = Counter("mlcicd_router_canary_retries_total",
                               "Canary failures retried on stable.", registry=registry)  # fmt: skip
        self.app = Starlette(
            routes=[
                Route(ROUTE, self._predict, methods=["POST"]),
                Route("/health", self._health, methods=["GET"]),
                Route("/metrics", metrics_app(registry)),
            ],
            lifespan=self._lifespan,
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Any) -> Any:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        self._client = httpx.AsyncClient(timeout=self.timeout, limits=limits)
        yield
        await self._client.aclose()

    def set_canary(self, url: str | None, weight: float) -> None:
        """Route ``weight`` (0..1) of requests to ``url``."""
        self.canary_url, self.weight = url, (weight if url else 0.0)

    def promote(self, url: str) -> None:
        """The canary becomes the stable backend."""
        self.stable_url, self.canary_url, self.weight = url, None, 0.0

    async def _forward(self, url: str, body: bytes) -> httpx.Response:
        assert self._client is not None
        return await self._client.post(
            f"{url}{ROUTE}", content=body, headers={"content-type": "application/json"}
        )

    async def _predict(self, request: Request) -> Response:
        body = await request.body()
        canary = self.canary_url
        if canary is not None and self._rng.random() < self.weight:
            try:
                answer = await self._forward(canary, body)
                if answer.status_code < 500:
                    self.requests.labels("canary").inc()
                    return Response(answer.content, answer.status_code,
                                    media_type="application/json")  # fmt: skip
            except httpx.HTTPError:
                pass
            self.retries.inc()
        stable = self.stable_url
        try:
            answer = await self._forward(stable, body)
        except httpx.HTTPError as exc:
            return JSONResponse({"detail": f"stable backend: {type(exc).__name__}"}, 502)
        self.requests.labels("stable").inc()
        return Response(answer.content, answer.status_code, media_type="application/json")

    async def _health(self, _request: Request) -> Response:
        return JSONResponse(
            {"stable": self.stable_url, "canary": self.canary_url, "weight": self.weight}
        )

    def start(self, host: str = "127.0.0.1") -> str:
        """Serve in a background thread; returns the URL."""
        port = free_port(host)
        config = uvicorn.Config(self.app, host=host, port=port, log_level="warning",
                                lifespan="on")  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="router", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise MlcicdError("the router did not start")
            time.sleep(0.02)
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)


# ------------------------------------------------------------------------ traffic


@dataclass
class TrafficStats:
    """What the synthetic clients saw."""

    sent: int = 0
    failed: int = 0
    by_version: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class Traffic:
    """``clients`` threads posting one-row requests to ``url`` until stopped."""

    def __init__(self, url: str, clients: int) -> None:
        self.url, self.clients = url, clients
        self.stats = TrafficStats()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._rows = sample_rows(200, seed=5)

    def _client(self, index: int) -> None:
        rng = random.Random(index)  # noqa: S311 - synthetic traffic
        with httpx.Client(timeout=15) as http:
            while not self._stop.is_set():
                row = rng.choice(self._rows)
                try:
                    answer = http.post(f"{self.url}{ROUTE}", json={"rows": [row]})
                    ok = answer.status_code == 200
                    version = answer.json().get("version", "?") if ok else ""
                    error = "" if ok else f"{answer.status_code}: {answer.text[:100]}"
                except httpx.HTTPError as exc:
                    ok, version, error = False, "", f"{type(exc).__name__}"
                with self._lock:
                    self.stats.sent += 1
                    if ok:
                        self.stats.by_version[version] = self.stats.by_version.get(version, 0) + 1
                    else:
                        self.stats.failed += 1
                        if len(self.stats.errors) < 5:
                            self.stats.errors.append(error)
                time.sleep(0.005)

    def __enter__(self) -> Traffic:
        for i in range(self.clients):
            thread = threading.Thread(target=self._client, args=(i,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=20)


# ----------------------------------------------------------------- metric windows


@dataclass
class Snapshot:
    """Cumulative /predict counters of one server at one moment."""

    requests: float = 0.0
    errors: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)


def scrape(url: str) -> Snapshot:
    """Read a model server's /metrics (the counters ``instrument_app`` keeps)."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    snap = Snapshot()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("route") != ROUTE:
                continue
            if sample.name == "mlcicd_http_requests_total":
                snap.requests += sample.value
                if sample.labels.get("status", "").startswith("5"):
                    snap.errors += sample.value
            elif sample.name == "mlcicd_http_request_duration_seconds_bucket":
                le = float(sample.labels["le"])
                snap.buckets[le] = snap.buckets.get(le, 0.0) + sample.value
    return snap


@dataclass
class Window:
    """The deltas between two snapshots."""

    requests: float
    errors: float
    p95_ms: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def window(before: Snapshot, after: Snapshot) -> Window:
    """Requests, errors and the p95 (upper bucket bound) between two snapshots."""
    requests = after.requests - before.requests
    deltas = sorted((le, after.buckets.get(le, 0.0) - before.buckets.get(le, 0.0))
                    for le in after.buckets)  # fmt: skip
    total = deltas[-1][1] if deltas else 0.0
    p95 = None
    if total > 0:
        p95 = next(le for le, count in deltas if count >= 0.95 * total) * 1000
    return Window(requests, after.errors - before.errors, p95)


# ------------------------------------------------------------------------ rollout


@dataclass
class Step:
    """One canary step and its verdict."""

    weight: int
    canary: Window
    stable: Window
    verdict: str


@dataclass
class Rollout:
    """The outcome of a deployment."""

    version: str
    previous: str | None
    promoted: bool
    reason: str
    steps: list[Step] = field(default_factory=list)
    traffic: TrafficStats = field(default_factory=TrafficStats)
    production: str | None = None


def _judge(canary: Window, stable: Window, t: Thresholds) -> str:
    if canary.error_rate > t.max_error_rate:
        return (f"error rate {canary.error_rate:.1%} over {canary.requests:.0f} requests "
                f"(max {t.max_error_rate:.0%})")  # fmt: skip
    if canary.p95_ms is not None:
        limit = t.max_p95_ms
        if stable.p95_ms is not None:
            limit = min(limit, max(stable.p95_ms * t.max_latency_ratio, t.latency_floor_ms))
        if canary.p95_ms > limit:
            return f"p95 {canary.p95_ms:.0f} ms (limit {limit:.0f} ms; stable {stable.p95_ms} ms)"
    return ""


def _observe(router: Router, canary: Backend, stable: Backend, t: Thresholds,
             traffic: Traffic | None) -> tuple[Window, Window]:  # fmt: skip
    start = time.monotonic()
    c0, s0 = scrape(canary.url), scrape(stable.url)
    while True:
        time.sleep(0.25)
        elapsed = time.monotonic() - start
        c1 = scrape(canary.url)
        enough = c1.requests - c0.requests >= t.min_requests
        if (elapsed >= t.min_window_s and enough) or elapsed >= t.max_window_s:
            return window(c0, c1), window(s0, scrape(stable.url))
        if traffic is None:  # no clients: send the canary's share ourselves
            httpx.post(f"{router.url}{ROUTE}", json={"rows": sample_rows(1)}, timeout=15)


@contextlib.contextmanager
def _maybe_traffic(url: str, clients: int) -> Iterator[Traffic | None]:
    if clients <= 0:
        yield None
        return
    with Traffic(url, clients) as traffic:
        yield traffic


def rollout(
    settings: Settings,
    *,
    version: str | None = None,
    alias: str | None = reg.STAGING,
    clients: int = 8,
    steps: list[int] | None = None,
    thresholds: Thresholds | None = None,
    workdir: Path | None = None,
    on_step: Any = None,
) -> Rollout:
    """Roll ``version`` (or the version ``alias`` names) out to production.

    The first deployment (no ``production`` alias yet) is a health gate and a promotion.
    Otherwise: start the production and candidate servers, a router, ``clients`` synthetic
    clients; health gate; then each canary step, judged on the servers' metrics.
    """
    import tempfile

    t = thresholds or Thresholds()
    steps = steps or [10, 50, 100]
    candidate = reg.resolve(settings, version=version, alias=alias)
    current = reg.alias_version(settings, reg.PRODUCTION)
    if current == candidate:
        raise MlcicdError(f"version {candidate} is already in production")
    with contextlib.ExitStack() as stack:
        tmp = Path(workdir or stack.enter_context(tempfile.TemporaryDirectory(prefix="mlcicd-")))
        result = Rollout(candidate, current, False, "")
        if current is None:
            ok, evidence = smoke(settings, version=candidate)
            result.reason = (
                f"first deployment: health gate {'passed' if ok else 'failed'}: {evidence}"
            )
            if ok:
                reg.set_alias(settings, reg.PRODUCTION, candidate)
                result.promoted = True
            result.production = reg.alias_version(settings, reg.PRODUCTION)
            return result
        # both servers start at once (each loads MLflow and its model: seconds)
        pool = stack.enter_context(ThreadPoolExecutor(2, thread_name_prefix="start"))
        starting = pool.submit(start_server, settings, candidate, tmp)
        stack.callback(_stop_when_started, starting)
        stable = start_server(settings, current, tmp)
        stack.callback(stable.stop)
        router = Router(stable.url)
        router.start(settings.host)
        stack.callback(router.stop)
        traffic = stack.enter_context(_maybe_traffic(router.url, clients))
        try:
            canary = starting.result()
        except MlcicdError as exc:
            return _rolled_back(settings, result, f"health gate: {exc}", traffic)
        try:
            ok, evidence = smoke_check(canary.url, sample_rows())
            if not ok:
                return _rolled_back(settings, result, f"health gate: {evidence}", traffic)
            for weight in steps:
                router.set_canary(canary.url, weight / 100)
                c, s = _observe(router, canary, stable, t, traffic)
                breach = _judge(c, s, t)
                result.steps.append(Step(weight, c, s, breach or "ok"))
                if on_step is not None:
                    on_step(result.steps[-1])
                if breach:
                    router.set_canary(None, 0)
                    return _rolled_back(settings, result, f"at {weight}%: {breach}", traffic)
            reg.set_alias(settings, reg.PREVIOUS, current)
            reg.set_alias(settings, reg.PRODUCTION, candidate)
            router.promote(canary.url)
            time.sleep(0.3)  # requests in flight to the old server finish
            stable.stop()
            result.promoted = True
            result.reason = f"every step healthy: version {candidate} is production"
        finally:
            if not result.promoted:
                router.set_canary(None, 0)
            if traffic is not None:
                traffic.__exit__(None, None, None)
                result.traffic = traffic.stats
            canary.stop()
        result.production = reg.alias_version(settings, reg.PRODUCTION)
        return result


def _stop_when_started(starting: Future[Backend]) -> None:
    """Stop a server started in the background (if it started)."""
    with contextlib.suppress(Exception):
        starting.result().stop()


def _rolled_back(settings: Settings, result: Rollout, reason: str,
                 traffic: Traffic | None) -> Rollout:  # fmt: skip
    result.promoted = False
    result.reason = f"rolled back {reason}"
    reg.tag(settings, result.version, "rolled_back", reason)
    if traffic is not None:
        traffic.__exit__(None, None, None)
        result.traffic = traffic.stats
    result.production = reg.alias_version(settings, reg.PRODUCTION)
    return result
