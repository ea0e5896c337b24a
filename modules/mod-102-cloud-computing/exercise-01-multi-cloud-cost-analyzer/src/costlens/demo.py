"""``costlens demo``: two months of three clouds' bills, from export to e-mailed digest.

1. write the sample exports; upload the AWS CUR to an S3 bucket (moto server on loopback);
2. ingest it from ``s3://`` with boto3, and the GCP and Azure exports from disk;
3. show spend, tag coverage, unit costs, anomalies (scored against what was planted), the
   month-end forecast and the recommendations;
4. write the HTML dashboard; send the digest to a real SMTP server on loopback.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import boto3
import pandas as pd

from aiinfra_shared.cliapp import console
from aiinfra_shared.services import start
from aiinfra_shared.services.smtp import smtp_sink
from costlens import analyze, report
from costlens.ingest import ingest, ingest_utilization
from costlens.notify import Delivery, send_email
from costlens.sample import generate
from costlens.store import Store
from costlens.tables import print_frame

BUCKET = "billing-exports"
PREFIX = "cur2/ml-payer/data/BILLING_PERIOD=2026-10/"


def run_demo(workdir: Path | None = None) -> None:
    with ExitStack() as stack:
        root = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="costlens-")))
        root.mkdir(parents=True, exist_ok=True)
        exports = root / "exports"
        with console.status("writing sample exports"):
            manifest = generate(exports)
        console.print(f"[bold]1.[/] sample exports in {exports} (61 days, 3 clouds)")
        with console.status("starting an S3 server (moto)"):
            s3 = stack.enter_context(start("s3", workdir=root / "s3"))
        os.environ.update(s3.env)
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        for name in manifest["files"]["aws"]:
            client.upload_file(name, BUCKET, PREFIX + Path(name).name)
        console.print(f"   CUR uploaded to s3://{BUCKET}/{PREFIX} on {s3.url}")

        db = root / "costs.duckdb"
        store = stack.enter_context(Store(db))
        results = ingest(store, f"s3://{BUCKET}/cur2/")
        results += ingest(store, str(exports))  # the AWS file again: all duplicates
        ingest_utilization(store, Path(manifest["utilization"]))
        print_frame(
            pd.DataFrame([r.as_dict() for r in results]),
            "2. ingested (the local AWS copy is refused as duplicates)",
        )

        print_frame(analyze.spend(store, ["provider"]), "3. spend by provider")
        print_frame(analyze.spend(store, ["provider", "service"], top=8), "top services")
        print_frame(analyze.tag_coverage(store), "coverage of the team tag")
        apps = analyze.unit_costs(store)["apps"]
        print_frame(apps, "cost per 1,000 predictions")
        found = analyze.anomalies(store)
        print_frame(found, "anomalies")
        score = analyze.score_anomalies(found, manifest["truth"]["anomalies"])
        console.print(
            f"   against the planted anomalies: precision {score.precision:.2f}, "
            f"recall {score.recall:.2f}"
        )
        f = analyze.forecast_month(store, date(2026, 11, 20))
        actual = store.scalar(
            "SELECT sum(EffectiveCost) FROM focus WHERE ChargePeriodStart >= '2026-11-01'"
        )
        console.print(
            f"   forecast {f.month} as of {f.as_of}: {f.forecast:,.2f} "
            f"({f.level:.0%} interval {f.low:,.2f} - {f.high:,.2f}); the data says "
            f"{actual:,.2f}"
        )

        with console.status("computing the dashboard"):
            summary = report.summarize(store)
        recs = pd.DataFrame(
            [
                {
                    "kind": r.kind,
                    "provider": r.provider,
                    "action": r.action,
                    "saving/month": r.monthly_saving,
                }
                for r in summary.recommendations
            ]
        )
        print_frame(recs, f"recommendations: {summary.saving:,.2f} a month")
        html = report.write_dashboard(summary, root / "costlens.html")
        console.print(
            f"[bold]4.[/] dashboard: {html} ({html.stat().st_size / 1e6:.1f} MB, opens offline)"
        )

        mailbox = stack.enter_context(smtp_sink())
        delivery = Delivery(smtp=mailbox.address, to=("finops@example.com",))
        send_email(delivery, "costlens digest", report.digest_text(summary), html)
        mailbox.arrived.wait(10)
        got = mailbox.messages[0] if mailbox.messages else None
        console.print(
            f"   digest e-mailed to an SMTP server on {mailbox.address}: "
            + (
                f"received '{got['Subject']}' with {len(list(got.iter_attachments()))} attachment"
                if got
                else "NOT received"
            )
        )
        (root / "digest.txt").write_text(report.digest_text(summary))
        (root / "summary.json").write_text(json.dumps(report.digest_payload(summary), indent=2))
        console.print(f"   digest text: {root / 'digest.txt'}")
