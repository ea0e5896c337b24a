"""``servplat bench``: what the gateway costs, and what micro-batching buys.

One scorer (v1) behind a ``plain`` route (every request is its own backend call) and several
``batched`` routes, one per (max batch, max wait) setting of the sweep. Single predictions are
sent with a load client that costs almost nothing per request
(:func:`aiinfra_shared.loadgen.raw_load`; httpx's own CPU made the client the bottleneck):

- at concurrency 1, directly to the scorer and through the plain and the default batched
  route: the gateway's own cost is the difference in latency (a hop, routing, metrics, spans);
- at ``concurrency``: directly, through the plain route, and through every batched setting,
  with the batch sizes the gateway actually formed (from its ``servplat_batch_size``
  histogram, before and after each run).

Prints the tables and writes ``bench.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

from aiinfra_shared.loadgen import percentiles, raw_load
from servplat.config import Settings
from servplat.routing import PlatformConfig

APPLICANT = [55.0, 0.7, 40.0, 3.0, 2.0]
#: (max batch, max wait ms, eager) settings the sweep measures; the first is the default.
SWEEP: tuple[tuple[int, float, bool], ...] = (
    (16, 5.0, False), (16, 5.0, True), (8, 2.0, False), (16, 2.0, False), (16, 10.0, False),
    (32, 5.0, False), (32, 5.0, True),
)  # fmt: skip


@dataclass(frozen=True)
class Run:
    """One measured path."""

    path: str
    concurrency: int
    requests: int
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    batch_sizes: dict[str, int] = field(default_factory=dict)

    @property
    def mean_batch(self) -> float:
        """Mean predictions per backend call in this run (0 when not batched)."""
        calls = sum(self.batch_sizes.values())
        rows = sum(int(size) * n for size, n in self.batch_sizes.items())
        return rows / calls if calls else 0.0


def route_name(max_batch: int, max_wait_ms: float, eager: bool) -> str:
    return f"batched-{max_batch}x{max_wait_ms:g}ms" + ("-eager" if eager else "")


def bench_config() -> PlatformConfig:
    """v1 behind a plain route and one batched route per sweep setting."""
    routes: list[dict[str, object]] = [
        {"model": "plain", "variants": {"scorer-v1": 1}, "sticky": False}
    ]
    routes += [
        {
            "model": route_name(size, wait, eager),
            "variants": {"scorer-v1": 1},
            "sticky": False,
            "batching": {"max_batch": size, "max_wait_ms": wait, "eager": eager},
        }
        for size, wait, eager in SWEEP
    ]
    return PlatformConfig.model_validate(
        {
            "backends": {
                "scorer-v1": {"kind": "classic", "launch": {"version": "v1"}, "timeout": 10}
            },
            "routes": routes,
        }
    )


def batch_counts(metrics_url: str) -> dict[str, int]:
    """Backend calls per batch size so far: the gateway's ``servplat_batch_size`` histogram,
    from cumulative buckets to a count per bucket (``"16"`` counts calls of 9 to 16 rows)."""
    text = httpx.get(metrics_url, timeout=10).text
    cumulative: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "servplat_batch_size":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket") and sample.labels.get("le") != "+Inf":
                le = sample.labels["le"]
                cumulative[le] = cumulative.get(le, 0.0) + sample.value
    counts: dict[str, int] = {}
    previous = 0.0
    for le in sorted(cumulative, key=float):
        counts[str(int(float(le)))] = int(cumulative[le] - previous)
        previous = cumulative[le]
    return counts


def measure(
    url: str, body: dict[str, object], *, requests: int, concurrency: int, label: str,
    metrics_url: str | None = None,
) -> Run:  # fmt: skip
    """``requests`` POSTs of ``body`` to ``url``, ``concurrency`` in flight."""
    before = batch_counts(metrics_url) if metrics_url else {}
    result = raw_load(url, [body], n=requests, concurrency=concurrency)
    after = batch_counts(metrics_url) if metrics_url else {}
    sizes = {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)}
    pct = percentiles(result.samples)
    return Run(label, concurrency, requests, round(result.per_second, 1), round(pct["p50"], 2),
               round(pct["p95"], 2), round(pct["p99"], 2), sizes)  # fmt: skip


def run_bench(
    console: Console, settings: Settings, *, requests: int, concurrency: int, out: Path
) -> list[Run]:
    """All runs; tables and ``bench.json``."""
    from servplat.platform import run_platform

    runs: list[Run] = []
    default = route_name(*SWEEP[0])
    with console.status("starting a scorer and the gateway"), run_platform(bench_config()) as p:
        direct = f"{p.backends['scorer-v1'].url}/v1/predict"
        gateway = f"{p.gateway.url}/v1/predict"
        metrics = f"{p.gateway.url}/metrics"
        single: dict[str, Any] = {"instances": [APPLICANT]}

        def via(model: str) -> dict[str, Any]:
            return {"model": model, "features": APPLICANT}

        plans: list[tuple[str, str, dict[str, Any], int]] = [
            ("direct to the scorer", direct, single, 1),
            ("gateway, plain route", gateway, via("plain"), 1),
            (f"gateway, {default}", gateway, via(default), 1),
            (f"gateway, {route_name(*SWEEP[1])}", gateway, via(route_name(*SWEEP[1])), 1),
            ("direct to the scorer", direct, single, concurrency),
            ("gateway, plain route", gateway, via("plain"), concurrency),
        ]
        plans += [(f"gateway, {route_name(*setting)}", gateway, via(route_name(*setting)),
                   concurrency) for setting in SWEEP]  # fmt: skip
        for label, url, body, level in plans:
            watch = metrics if "batched" in label else None
            with console.status(f"{label}, concurrency {level}"):
                runs.append(measure(url, body, requests=requests, concurrency=level, label=label,
                                    metrics_url=watch))  # fmt: skip
    print_runs(console, runs, requests)
    loaded = [r for r in runs if r.concurrency == concurrency]
    plain = next(r for r in loaded if r.path == "gateway, plain route")
    direct_run = next(r for r in loaded if r.path == "direct to the scorer")
    batched = [r for r in loaded if "batched" in r.path]
    best = max(batched, key=lambda r: r.requests_per_second)
    console.print(
        f"gateway overhead at concurrency 1: {runs[1].p50_ms - runs[0].p50_ms:.2f} ms at p50\n"
        f"best batching at concurrency {concurrency}: {best.path} "
        f"{best.requests_per_second:.0f} req/s = "
        f"{best.requests_per_second / plain.requests_per_second:.1f}x the plain route, "
        f"{best.requests_per_second / direct_run.requests_per_second:.1f}x calling the scorer "
        f"directly (mean batch {best.mean_batch:.1f})"
    )
    out.mkdir(parents=True, exist_ok=True)
    report = [{**asdict(r), "mean_batch": round(r.mean_batch, 2)} for r in runs]
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"report: {out / 'bench.json'}")
    return runs


def print_runs(console: Console, runs: list[Run], requests: int) -> None:
    """The table, with each batched run's batch sizes."""
    table = Table(title=f"single predictions, {requests} per run")
    for column in ("path", "conc.", "req/s", "p50 ms", "p95 ms", "p99 ms", "mean batch",
                   "backend calls by batch size"):  # fmt: skip
        left = column.startswith(("path", "backend"))
        table.add_column(column, justify="left" if left else "right", no_wrap=column == "path")
    for run in runs:
        sizes = " ".join(f"<={k}:{v}" for k, v in run.batch_sizes.items())
        table.add_row(run.path, str(run.concurrency), f"{run.requests_per_second:.0f}",
                      f"{run.p50_ms:.2f}", f"{run.p95_ms:.2f}", f"{run.p99_ms:.2f}",
                      f"{run.mean_batch:.1f}" if run.batch_sizes else "-", sizes)  # fmt: skip
    console.print(table)
