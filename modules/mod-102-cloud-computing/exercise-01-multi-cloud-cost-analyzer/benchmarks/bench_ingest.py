"""Ingest and query rate of costlens on about a million AWS CUR line items.

    python benchmarks/bench_ingest.py [--scale 1600] [--json out.json]

Generates a CUR 2.0 Parquet file (``--scale`` multiplies the fleet: 1600 gives about 1M rows),
ingests it into a fresh DuckDB store (read, validate, map to FOCUS, dedupe, insert), then times
the queries the CLI runs. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from costlens import analyze
from costlens.ingest import ingest
from costlens.recommend import recommend
from costlens.sample import generate
from costlens.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1600)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        t = time.perf_counter()
        generate(out, scale=args.scale, providers=("aws",))
        gen = time.perf_counter() - t
        with Store(out / "costs.duckdb") as store:
            t = time.perf_counter()
            [result] = ingest(store, str(out / "aws-cur-00001.snappy.parquet"))
            seconds = time.perf_counter() - t
            n = result.rows_loaded
            rows.append(
                {
                    "step": "ingest (read, validate, FOCUS, dedupe, insert)",
                    "rows": n,
                    "seconds": seconds,
                    "rows/s": n / seconds,
                }
            )
            t = time.perf_counter()
            [again] = ingest(store, str(out / "aws-cur-00001.snappy.parquet"))
            seconds = time.perf_counter() - t
            rows.append(
                {
                    "step": "re-ingest (all duplicates)",
                    "rows": again.rows_read,
                    "seconds": seconds,
                    "rows/s": again.rows_read / seconds,
                }
            )
            for name, call in [
                ("spend by service x team", lambda: analyze.spend(store, ["service", "team"])),
                ("spend by day", lambda: analyze.spend(store, ["day"])),
                ("tag coverage", lambda: analyze.tag_coverage(store)),
                ("anomalies", lambda: analyze.anomalies(store)),
                ("forecast", lambda: analyze.forecast_month(store)),
                ("recommend", lambda: recommend(store)),
            ]:
                t = time.perf_counter()
                call()
                seconds = time.perf_counter() - t
                rows.append({"step": name, "rows": n, "seconds": seconds, "rows/s": n / seconds})
    print(f"generated {n:,} CUR rows in {gen:.1f} s\n")
    print("| step | rows | seconds | rows/s |\n|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['step']} | {r['rows']:,} | {r['seconds']:.2f} | {r['rows/s']:,.0f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
