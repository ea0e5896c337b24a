"""``e2epipe demo``: the whole path in about 40 s, with a server a person can watch."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from aiinfra_shared.cliapp import console
from aiinfra_shared.services.http import http_process
from e2epipe.config import Params, Settings
from e2epipe.data import generate, write
from e2epipe.errors import E2epipeError
from e2epipe.report import print_run, run_with_progress

CUSTOMERS: list[dict[str, Any]] = [
    {"tenure_months": 2, "monthly_charges": 95.0, "total_charges": 190.0,
     "contract": "month-to-month", "payment_method": "electronic-check", "support_calls": 5,
     "age": 29},
    {"tenure_months": 60, "monthly_charges": 45.0, "total_charges": 2700.0,
     "contract": "two-year", "payment_method": "bank-transfer", "support_calls": 0, "age": 58},
    {"tenure_months": 0, "monthly_charges": 70.0, "total_charges": None,
     "contract": "one-year", "payment_method": "card", "support_calls": 1, "age": 41},
]  # fmt: skip


def run(workdir: Path | None) -> None:
    """Run the demo in ``workdir`` (a temporary folder when None)."""
    with tempfile.TemporaryDirectory(prefix="e2epipe-demo-") as tmp:
        root = Path(workdir) if workdir else Path(tmp)
        settings = Settings(workdir=root / "work")
        params = Params(quick=True)
        console.rule("1. data: 3,000 synthetic customers (CSV)")
        first = write(generate(3000, seed=1), root / "customers-week1.csv")
        console.print(f"{first}")
        console.rule("2. pipeline: ingest -> validate -> train -> evaluate -> register")
        result = run_with_progress(first, settings, params)
        print_run(result)
        if not result.ready:
            raise E2epipeError("the first model failed its readiness checklist: nothing to serve")
        console.rule("3. serve the champion")
        argv = [sys.executable, "-m", "e2epipe", "serve", "--workdir", str(settings.workdir)]
        with http_process(
            "e2epipe", lambda port: [*argv, "--port", str(port)], health_path="/health",
            workdir=root / "server",
        ) as server:  # fmt: skip
            answer = httpx.post(f"{server.url}/predict", json={"rows": CUSTOMERS}, timeout=10)
            body = answer.json()
            for customer, p in zip(CUSTOMERS, body["predictions"], strict=True):
                console.print(
                    f"  {customer['contract']:>14}, {customer['tenure_months']:>2} months, "
                    f"{customer['support_calls']} calls -> churn {p['churn_probability']:.2f}"
                )
            console.print(f"served by version {body['model_version']}")
            console.rule("4. next week's data has dirty rows: quarantined, model retrained")
            week2 = generate(3000, seed=2)
            week2.loc[:19, "age"] = 250  # out of range
            week2["monthly_charges"] = week2["monthly_charges"].astype(object)
            week2.loc[20:29, "monthly_charges"] = "n/a"  # not a number
            week2.loc[30:32, "total_charges"] = np.inf
            second = write(week2, root / "customers-week2.csv")
            print_run(run_with_progress(second, settings, params))
            console.rule("5. hot reload: the new champion, then a version that does not exist")
            console.print(httpx.post(f"{server.url}/reload", json={}, timeout=30).json())
            bad = httpx.post(f"{server.url}/reload", json={"version": "99"}, timeout=30)
            console.print(f"reload version 99 -> {bad.status_code}: {bad.json()['detail']}")
            health = httpx.get(f"{server.url}/health", timeout=5).json()
            console.print(f"still serving version {health['model_version']}")
            metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
            console.print(
                "\n".join(
                    line for line in metrics.splitlines()
                    if line.startswith(("e2epipe_model_reloads_total", "e2epipe_predictions_total"))
                )
            )  # fmt: skip
        console.print(f"reports: {settings.workdir / 'reports'}  registry: {settings.tracking_uri}")
