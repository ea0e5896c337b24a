"""Alert storm ingest: how many Alertmanager alert notifications per second the service keeps
up with, through its real HTTP API (uvicorn, one process) and straight into the engine.

    python benchmarks/bench_storm.py [--services 20] [--alerts-per-service 50] [--repeats 10]

Prints a markdown table: rate, dedup and grouping for each path.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import httpx
from incidents.config import Settings
from incidents.db import Database
from incidents.engine import Engine
from incidents.models import AlertmanagerWebhook
from incidents.service import build
from incidents.storm import StormResult, replay, storm

from aiinfra_shared.testing.asgi import serve_in_thread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--alerts-per-service", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    if min(args.services, args.alerts_per_service, args.repeats, args.batch) < 1:
        parser.error("every count must be >= 1")
    shape = {
        "services": args.services,
        "alerts_per_service": args.alerts_per_service,
        "repeats": args.repeats,
        "batch": args.batch,
    }
    results: dict[str, StormResult] = {}
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Database(Path(tmp) / "engine.db"))
        results["engine (in process)"] = replay(
            lambda p: engine.ingest(AlertmanagerWebhook.model_validate(p)).model_dump(),
            storm(**shape),
        )
        service = build(Settings(db=Path(tmp) / "http.db"), worker=False)
        with (
            serve_in_thread(service.app) as served,
            httpx.Client(base_url=served.url, timeout=60) as c,
        ):
            results["HTTP API (uvicorn)"] = replay(
                lambda p: c.post("/webhooks/alertmanager", json=p).raise_for_status().json(),
                storm(**shape),
            )
    print("| path | alerts sent | alerts/s | distinct kept | dedup | incidents |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r.notifications:,} | {r.per_second:,.0f} | {r.distinct_alerts:,} | "
            f"{r.duplicates / r.notifications:.1%} | {r.incidents} |"
        )


if __name__ == "__main__":
    main()
