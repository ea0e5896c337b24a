"""What ``aiinfra run 101-05`` shows: the quick profile of every model in eager PyTorch and
JAX (each pair in its own pinned process), the parameter parity, and the report files.

``torch.compile`` is left to ``fwbench run --frameworks torch-compile`` because a cold
Inductor compile of the CNN takes about half a minute on a 2-core machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from fwbench import bench, report
from fwbench.config import QUICK, Settings
from fwbench.models_torch import MODELS

DEMO_FRAMEWORKS = ("torch", "jax")


def run_demo(out: Path | None = None, *, console: Console | None = None) -> dict[str, Any]:
    """Measure, print the tables and write the report; returns the result document."""
    console = console or Console()
    cpus, threads = bench.parse_cpus(None, None)
    labels: list[str] = []
    with console.status("measuring") as status:

        def progress(label: str) -> None:
            labels.append(label)
            status.update(f"measuring {label} ({len(labels)}/{len(DEMO_FRAMEWORKS) * len(MODELS)})")

        doc = bench.run(
            DEMO_FRAMEWORKS, MODELS, QUICK, cpus=cpus, threads=threads, progress=progress
        )
    table = Table(title="training (quick profile): median step and throughput")
    for col in (
        "framework",
        "model",
        "params",
        "step ms [IQR]",
        "samples/s",
        "compile s",
        "peak RSS MiB",
    ):
        table.add_column(col, justify="right")
    for row in report.training_rows(doc):
        table.add_row(
            row["framework"],
            row["model"],
            f"{row['params']:,}",
            f"{row['step_median_s'] * 1e3:.2f} [{row['step_iqr_s'] * 1e3:.2f}]",
            f"{row['samples_per_s']:,.0f}",
            "-" if row["compile_s"] is None else f"{row['compile_s']:.2f}",
            f"{row['peak_rss_mb']:,.0f}",
        )
    console.print(table)
    for what, why in report.not_measured(doc):
        console.print(f"not measured: {what}: {why}", markup=False, highlight=False)
    folder = out or Settings().out_dir / "demo"
    bench.save(doc, folder / "results.json")
    paths = report.write_all(doc, folder)
    console.print(f"report: {paths['html']} (Markdown: {paths['markdown']})", markup=False)
    return doc
