"""What one window costs: the Evidently analysis by window size, with and without reports.

    uv run aiinfra exec 106-05 -- python \
        modules/mod-106-mlops/exercise-05-model-monitoring-drift/benchmarks/bench_analysis.py

Prints a markdown table (median of --repeat runs) and writes bench_analysis.json beside it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from driftwatch import data
from driftwatch.analysis import _evidently, analyze


def _median(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, nargs="+", default=[500, 2000, 8000])
    args = parser.parse_args()

    start = time.perf_counter()
    _evidently()
    import_s = time.perf_counter() - start
    reference = data.generate(5000, seed=7)
    analyze(reference, data.generate(300, seed=1))  # warm-up
    rows_out = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            current = data.generate(rows, seed=2, drift=data.scenario("covariate"))
            plain = _median(lambda c=current: analyze(reference, c), args.repeat)
            html = _median(
                lambda c=current: analyze(reference, c, out_dir=tmp, name="w"), args.repeat
            )
            full = _median(
                lambda c=current: analyze(reference, c, out_dir=tmp, name="f", full=True),
                args.repeat,
            )
            rows_out.append(
                {"rows": rows, "analysis_s": plain, "with_html_s": html, "full_s": full}
            )
    print(
        f"Evidently import: {import_s:.1f} s (once per process); reference 5000 rows, 7 features\n"
    )
    print("| current rows | drift + quality | + HTML report | + DataSummaryPreset + HTML |")
    print("|---:|---:|---:|---:|")
    for r in rows_out:
        print(
            f"| {r['rows']} | {r['analysis_s']:.2f} s | {r['with_html_s']:.2f} s "
            f"| {r['full_s']:.2f} s |"
        )
    out = Path(__file__).with_suffix(".json")
    out.write_text(json.dumps({"import_s": import_s, "results": rows_out}, indent=2) + "\n")


if __name__ == "__main__":
    main()
