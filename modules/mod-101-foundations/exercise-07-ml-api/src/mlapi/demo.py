"""``mlapi demo``: the whole service working, end to end, in about ten seconds.

Trains a model if there is none, starts ``uvicorn`` as a real subprocess on a free loopback
port, exercises every route over HTTP (good and bad requests, the admin key), measures
latency percentiles, shows a slice of ``/metrics``, and stops the server.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn
from rich.table import Table

from mlapi import model as model_lib
from mlapi.config import MlapiSettings
from mlapi.data import CLASSES, FEATURES, load_dataset, split
from mlapi.errors import ModelNotFoundError
from mlapi.loadgen import http_latencies, percentiles
from mlapi.server import server_process
from mlapi.training import train_and_save


def _flower(row: Any) -> dict[str, float]:
    return {name: round(float(v), 2) for name, v in zip(FEATURES, row, strict=True)}


def run_demo(settings: MlapiSettings, *, requests: int = 200, console: Console) -> None:
    """Run the demo (see the module docstring)."""
    model_dir = settings.model_dir.resolve()
    try:
        model_lib.load(model_dir)
        console.print(f"Using the trained model in {model_dir}")
    except ModelNotFoundError:
        with console.status("No model yet: training one ..."):
            trained = train_and_save(settings.model_copy(update={"model_dir": model_dir}))
        console.print(
            f"Trained model {trained.version} (test accuracy {trained.metadata.test_accuracy})"
        )

    api_key = secrets.token_urlsafe(16)
    with (
        console.status("Starting uvicorn ..."),
        server_process(model_dir, api_key=api_key) as server,
    ):
        console.print(f"[green]✓[/] server up at {server.url} (pid {server.pid})")
        _exercise(server.url, api_key, requests, console)
    console.print("[green]✓[/] server stopped")


def _exercise(base: str, api_key: str, requests: int, console: Console) -> None:
    _, test_set = split(load_dataset())
    with httpx.Client(base_url=base, timeout=10.0) as client:
        info = client.get("/v1/model").json()
        console.print(f"Model {info['model_version']}: test accuracy {info['test_accuracy']}")

        table = Table(title="POST /v1/predict, one flower at a time (held-out rows)")
        for col in ("petal length", "petal width", "true", "predicted", "p", ""):
            table.add_column(col)
        picks = [i for c in range(len(CLASSES)) for i in (test_set.y == c).nonzero()[0][:2]]
        for i in picks:
            body = _flower(test_set.x[i])
            pred = client.post("/v1/predict", json=body).json()["predictions"][0]
            ok = pred["label"] == CLASSES[int(test_set.y[i])]
            table.add_row(
                str(body["petal_length_cm"]),
                str(body["petal_width_cm"]),
                CLASSES[int(test_set.y[i])],
                pred["label"],
                f"{pred['probabilities'][pred['label']]:.3f}",
                "[green]✓[/]" if ok else "[red]✗[/]",
            )
        console.print(table)

        batch = {"instances": [_flower(row) for row in test_set.x]}
        answer = client.post("/v1/predict", json=batch).json()
        hits = sum(
            p["class_id"] == int(y) for p, y in zip(answer["predictions"], test_set.y, strict=True)
        )
        console.print(
            f"Batch of {len(test_set)} held-out flowers in one request: "
            f"{hits}/{len(test_set)} correct"
        )

        checks = Table(title="What the API refuses, and why")
        for col in ("request", "status", "answer"):
            checks.add_column(col)
        bad = {**_flower(test_set.x[0]), "petal_length_cm": -1}
        for label, response in (
            ("negative petal length", client.post("/v1/predict", json=bad)),
            (
                "unknown field",
                client.post("/v1/predict", json={**_flower(test_set.x[0]), "color": 1}),
            ),
            (
                "300 KB body",
                client.post(
                    "/v1/predict",
                    content=b"x" * 300_000,
                    headers={"content-type": "application/json"},
                ),
            ),
            ("reload without key", client.post("/v1/model/reload")),
            (
                "reload with wrong key",
                client.post("/v1/model/reload", headers={"X-API-Key": "nope"}),
            ),
            (
                "reload with the key",
                client.post("/v1/model/reload", headers={"X-API-Key": api_key}),
            ),
        ):
            checks.add_row(label, str(response.status_code), _short(response))
        console.print(checks)

        payloads = [_flower(row) for row in test_set.x]
        latency = Table(title=f"HTTP round-trip latency, {requests} requests each (ms)")
        for col in ("concurrency", "p50", "p95", "p99"):
            latency.add_column(col, justify="right")
        for concurrency in (1, 16):
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task(f"concurrency {concurrency}", total=requests)

                def one_done(task: TaskID = task) -> None:
                    progress.advance(task)

                samples = http_latencies(
                    f"{base}/v1/predict",
                    payloads,
                    n=requests,
                    concurrency=concurrency,
                    on_done=one_done,
                )
            pct = percentiles(samples)
            latency.add_row(str(concurrency), *(f"{pct[k]:.2f}" for k in ("p50", "p95", "p99")))
        console.print(latency)

        lines = [
            line
            for line in client.get("/metrics").text.splitlines()
            if line.startswith(("mlapi_predictions_total", "mlapi_http_requests_total"))
        ]
        console.print("[bold]A slice of /metrics[/]")
        for line in lines[:12]:
            console.print(f"  {line}", highlight=False)


def _short(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", response.json())
    except ValueError:
        return response.text[:80]
    if isinstance(detail, list) and detail:  # pydantic validation errors
        first = detail[0]
        return f"{'.'.join(str(p) for p in first.get('loc', []))}: {first.get('msg')}"
    return str(detail)[:80]
