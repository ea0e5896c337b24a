"""The ``costlens`` command.

Exit codes: 0 done, 1 bad input (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape

from aiinfra_shared.cliapp import console, err_console, package_app, run_typer, settings_from
from costlens import analyze, report
from costlens.config import Settings
from costlens.errors import CostlensError
from costlens.ingest import FORMATS, ingest, ingest_utilization
from costlens.notify import (
    Delivery,
    parse_cron,
    post_webhook,
    run_schedule,
    send_email,
    stop_on_signals,
)
from costlens.recommend import Params, recommend
from costlens.sample import generate as generate_sample
from costlens.store import Store
from costlens.tables import print_frame

app = package_app(
    "102-01: Multi-cloud cost analyzer: AWS CUR, GCP and Azure billing exports normalized to "
    "FOCUS in DuckDB, anomalies, forecasts, recommendations, an HTML dashboard and a "
    "scheduled digest"
)

DbOpt = Annotated[Path | None, typer.Option("--db", help="The DuckDB file (COSTLENS_DB).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: last day).")]


def _settings(db: Path | None) -> Settings:
    return settings_from(Settings, CostlensError, db=db)


def _open(db: Path | None, *, read_only: bool = True) -> Store:
    return Store(_settings(db).db, read_only=read_only)


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CostlensError(f"{option} must be a date YYYY-MM-DD, got {value!r}") from None


@app.command()
def generate(
    out: Annotated[Path, typer.Argument(help="Folder to write the sample exports into.")],
    days: Annotated[int, typer.Option(help="Days of billing data.")] = 61,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")] = "2026-10-01",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 7,
    scale: Annotated[int, typer.Option(help="Fleet size multiplier (rows grow with it).")] = 1,
    aws_format: Annotated[str, typer.Option(help="parquet or csv.")] = "parquet",
    anomalies: Annotated[bool, typer.Option(help="Plant anomalies.")] = True,
) -> None:
    """Write realistic sample exports (AWS CUR 2.0, GCP billing, Azure actual + amortized),
    utilization.csv and truth.json (what was planted)."""
    first = _date(start, "--start")
    assert first is not None
    manifest = generate_sample(
        out,
        start=first,
        days=days,
        seed=seed,
        scale=scale,
        aws_format=aws_format,
        anomalies=anomalies,
    )
    for provider, files in manifest["files"].items():
        for name in files:
            console.print(f"{provider:<6} {escape(name)}")
    console.print(f"truth  {escape(str(out / 'truth.json'))}")


@app.command("ingest")
def ingest_cmd(
    sources: Annotated[list[str], typer.Argument(help="Files, folders or s3://bucket/prefix.")],
    fmt: Annotated[str, typer.Option("--format", help=f"auto or {', '.join(FORMATS)}.")] = "auto",
    utilization: Annotated[
        Path | None, typer.Option(help="A utilization CSV for the recommender.")
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load billing exports into the FOCUS table; rejected rows are counted and kept."""
    settings = _settings(db)
    results = []
    with Store(settings.db) as store, console.status("reading") as status:
        for source in sources:
            results += ingest(
                store,
                source,
                fmt=fmt,
                currency=settings.currency,
                on_file=lambda n: status.update(f"loading {n}"),
            )
        loaded_util = ingest_utilization(store, utilization) if utilization else 0
        total = store.rows()
    frame = pd.DataFrame([r.as_dict() for r in results])
    print_frame(frame, "ingested", as_json)
    if not as_json:
        console.print(
            f"{total:,} rows in {escape(str(settings.db))}"
            + (f"; {loaded_util:,} utilization rows" if utilization else "")
        )
    rejected = int(frame["rows_rejected"].sum()) if not frame.empty else 0
    if rejected:
        err_console.print(f"warning: {rejected} row(s) rejected; see `costlens rejections`")


@app.command()
def rejections(
    limit: Annotated[int, typer.Option(help="Rows to show.", min=1, max=100_000)] = 20,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The rows that were not loaded, and why."""
    with _open(db) as store:
        counts = store.df(
            "SELECT reason, count(*) AS rows FROM rejections GROUP BY ALL ORDER BY rows DESC"
        )
        sample = store.df(
            'SELECT source, "row", reason FROM rejections ORDER BY source, "row" LIMIT ?', [limit]
        )
    if as_json:
        print_frame(sample, as_json=True)
        return
    print_frame(counts, "rejections by reason")
    print_frame(sample, "first rejected rows")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL over focus, rejections, ingests, utilization.")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run SQL against the store (read-only)."""
    if not sql.strip():
        raise CostlensError("the query is empty")
    with _open(db) as store:
        print_frame(store.df(sql), as_json=as_json)


@app.command()
def spend(
    by: Annotated[
        str,
        typer.Option(
            help="Comma-separated: provider, service, team, tag:<key>, "
            "day, month, region, account..."
        ),
    ] = "provider,service",
    metric: Annotated[str, typer.Option(help="effective, billed or list.")] = "effective",
    top: Annotated[int | None, typer.Option(help="Only the N largest groups.")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Spend grouped by any dimensions."""
    dims = [d.strip() for d in by.split(",") if d.strip()]
    with _open(db) as store:
        print_frame(analyze.spend(store, dims, metric=metric, top=top), f"{metric} cost", as_json)


@app.command()
def tags(
    key: Annotated[str, typer.Option(help="The tag that allocates cost.")] = "team",
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Tag coverage per provider and the most expensive untagged resources."""
    with _open(db) as store:
        print_frame(analyze.tag_coverage(store, key), f"coverage of tag {key}", as_json)
        if not as_json:
            print_frame(analyze.untagged_resources(store, key, 10), "untagged, most expensive")


@app.command("unit-costs")
def unit_costs(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Cost per training run (tag run_id) and per 1,000 predictions (tag app)."""
    with _open(db) as store:
        units = analyze.unit_costs(store)
    print_frame(units["runs"], "cost per training run", as_json)
    print_frame(units["apps"], "cost per 1,000 predictions", as_json)


@app.command()
def anomalies(
    window: Annotated[int, typer.Option(help="Days of history in the baseline.")] = 14,
    threshold: Annotated[float, typer.Option(help="Robust z-score to flag.")] = 4.0,
    min_excess: Annotated[float, typer.Option(help="Smallest excess cost to flag.")] = 25.0,
    truth: Annotated[Path | None, typer.Option(help="truth.json: score precision/recall.")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Days a service cost far more than its seasonal baseline."""
    params = analyze.AnomalyParams(window=window, threshold=threshold, min_excess=min_excess)
    with _open(db) as store:
        found = analyze.anomalies(store, params)
    print_frame(found, "anomalies", as_json)
    if truth is not None:
        try:
            planted = json.loads(truth.read_text())["truth"]["anomalies"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CostlensError(f"{truth}: not a costlens truth.json ({exc})") from exc
        score = analyze.score_anomalies(found, planted)
        console.print(
            f"precision {score.precision:.2f}, recall {score.recall:.2f} "
            f"({score.true_positives} of {len(planted)} planted days found, "
            f"{score.false_positives} false alarms)"
        )


@app.command()
def forecast(
    as_of: AsOfOpt = None,
    level: Annotated[float, typer.Option(help="Interval level.")] = 0.9,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Month-end spend with an interval, from the days so far."""
    with _open(db) as store:
        result = analyze.forecast_month(store, _date(as_of, "--as-of"), level=level)
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
        return
    console.print(
        f"{result.month}: spent {result.spent_to_date:,.2f} by {result.as_of}; "
        f"month end {result.forecast:,.2f} ({result.level:.0%} interval "
        f"{result.low:,.2f} - {result.high:,.2f}, {result.days_left} days left)"
    )


@app.command("recommend")
def recommend_cmd(
    lookback: Annotated[int, typer.Option(help="Days of evidence.")] = 14,
    headroom: Annotated[float, typer.Option(help="Kept above the observed peak.")] = 0.3,
    idle_cpu: Annotated[float, typer.Option(help="p95 CPU % under which a machine is idle.")] = 5.0,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Idle machines, rightsizing, commitments and storage lifecycle, with savings."""
    params = Params(lookback=lookback, headroom=headroom, idle_cpu=idle_cpu)
    with _open(db) as store:
        recs = recommend(store, params)
    if as_json:
        print(json.dumps([r.as_dict() for r in recs], indent=2, default=str))
        return
    frame = pd.DataFrame(
        [
            {
                "kind": r.kind,
                "provider": r.provider,
                "resource": r.resource,
                "action": r.action,
                "saving/month": r.monthly_saving,
            }
            for r in recs
        ]
    )
    print_frame(frame, "recommendations")
    console.print(f"total: {sum(r.monthly_saving for r in recs):,.2f} a month")


@app.command("report")
def report_cmd(
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("costlens.html"),
    as_of: AsOfOpt = None,
    db: DbOpt = None,
) -> None:
    """Write the HTML dashboard (opens offline: Plotly is inlined)."""
    with _open(db) as store, console.status("computing"):
        summary = report.summarize(store, as_of=_date(as_of, "--as-of"))
    path = report.write_dashboard(summary, out)
    console.print(f"dashboard: {escape(str(path))} ({path.stat().st_size / 1e6:.1f} MB)")


SmtpOpt = Annotated[str | None, typer.Option(help="SMTP server host:port.")]
ToOpt = Annotated[list[str] | None, typer.Option("--to", help="Recipient (repeatable).")]
HookOpt = Annotated[str | None, typer.Option(help="Webhook URL (JSON POST).")]


def _send(db: Path | None, delivery: Delivery, source: list[str] | None = None) -> str:
    settings = _settings(db)
    with Store(settings.db) as store:
        for s in source or []:
            ingest(store, s, currency=settings.currency)
        summary = report.summarize(store)
    text = report.digest_text(summary)
    subject = (
        f"costlens: {summary.total:,.2f} {summary.currency}, {len(summary.anomalies)} "
        f"anomalies, save {summary.saving:,.2f}/month"
    )
    if delivery.smtp:
        send_email(delivery, subject, text)
    if delivery.webhook:
        post_webhook(delivery.webhook, report.digest_payload(summary))
    return subject


@app.command()
def digest(
    smtp: SmtpOpt = None, to: ToOpt = None, webhook: HookOpt = None, db: DbOpt = None
) -> None:
    """Send the digest now (e-mail and/or webhook)."""
    delivery = Delivery(smtp=smtp, to=tuple(to or ()), webhook=webhook)
    delivery.check()
    console.print(f"sent: {escape(_send(db, delivery))}")


@app.command()
def schedule(
    cron: Annotated[str, typer.Option(help="When: 5 cron fields (6 with seconds last).")],
    smtp: SmtpOpt = None,
    to: ToOpt = None,
    webhook: HookOpt = None,
    source: Annotated[
        list[str] | None, typer.Option(help="Ingest this before each digest (repeatable).")
    ] = None,
    max_runs: Annotated[int | None, typer.Option(help="Stop after N digests.")] = None,
    db: DbOpt = None,
) -> None:
    """Send the digest on a cron schedule until SIGTERM (or --max-runs)."""
    delivery = Delivery(smtp=smtp, to=tuple(to or ()), webhook=webhook)
    delivery.check()
    nxt = parse_cron(cron).get_next(datetime)
    stop = stop_on_signals()
    console.print(f"scheduled '{escape(cron)}'; next at {nxt:%Y-%m-%d %H:%M:%S}")
    sent = run_schedule(
        cron,
        lambda: console.print(f"sent: {escape(_send(db, delivery, source))}"),
        max_runs=max_runs,
        stop=stop,
    )
    console.print(f"stopped after {sent} digest(s)")


@app.command()
def demo(
    workdir: Annotated[
        Path | None, typer.Option(help="Where the demo writes (default: a temp dir).")
    ] = None,
) -> None:
    """Show the exercise working (what `aiinfra run 102-01` runs)."""
    from costlens.demo import run_demo

    run_demo(workdir)


main = run_typer(app)
