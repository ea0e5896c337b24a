"""The optimization report: Markdown table, PNG charts (time per step, memory) and HTML.

Every figure is computed from the raw step times in the result document, so ``gpuperf report``
rebuilds the same report from a saved ``results.json``.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from aiinfra_shared import reports
from gpuperf.errors import ReportError

SCHEMA = "gpuperf/1"


def _summary(run: dict[str, Any], batch: int) -> dict[str, float]:
    steps = run["step_s"]
    q = statistics.quantiles(steps, n=4) if len(steps) > 1 else [steps[0]] * 3
    median = statistics.median(steps)
    return {
        "median_ms": median * 1e3,
        "iqr_ms": (q[2] - q[0]) * 1e3,
        "samples_per_s": batch / median,
        "data_share": statistics.median(run["data_wait_s"]) / median,
        "activation_mb": run["activation_mb"],
        "device_peak_mb": run.get("device_peak_mb"),
    }


def rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per configuration: baseline, each step, combined."""
    out = []
    base = doc["baseline"]
    entries = [("baseline", "-", base, None)]
    entries += [(r["step"], r["change"], r["run"], r["check"]) for r in doc["results"]]
    if doc.get("combined"):
        entries.append(("combined", "every faster switch that passed", doc["combined"], None))
    base_ms = _summary(base, base["config"]["batch"])["median_ms"]
    for name, change, run, check in entries:
        s = _summary(run, run["config"]["batch"])
        out.append(
            {"config": name, "change": change, "speedup": base_ms / s["median_ms"], "check": check}
            | s
        )
    return out


def markdown(doc: dict[str, Any]) -> str:
    """The report as Markdown."""
    base_cfg = doc["baseline"]["config"]
    lines = [
        f"# gpuperf: {doc['device']}, torch {doc['torch']}, {doc['threads']} thread(s)",
        "",
        f"Baseline: batch {base_cfg['batch']}, 192x192 JPEGs decoded and resized to "
        f"{base_cfg['image_size']} px per sample, ResNet width {base_cfg['width']} x "
        f"{base_cfg['blocks']} blocks, fp32, no "
        f"DataLoader workers. Median [IQR] of {doc['steps']} timed steps after {doc['warmup']} "
        "warm-up steps; data = share of the step spent waiting for the batch.",
        "",
        "| config | change | step ms median [IQR] | speedup | samples/s | data | activations MiB "
        "| device peak MiB | check |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in rows(doc):
        check = "-"
        if r["check"]:
            mark = "pass" if r["check"]["passed"] else "FAIL"
            check = f"{mark}: {r['check']['detail']}".replace("|", "/")
        peak = "-" if r["device_peak_mb"] is None else f"{r['device_peak_mb']:.0f}"
        lines.append(
            f"| {r['config']} | {r['change']} | {r['median_ms']:.1f} [{r['iqr_ms']:.1f}] "
            f"| {r['speedup']:.2f}x | {r['samples_per_s']:,.0f} | {r['data_share']:.0%} "
            f"| {r['activation_mb']:.1f} | {peak} | {check} |"
        )
    table = rows(doc)
    fastest = min(table, key=lambda r: r["median_ms"])
    lines += [
        "",
        f"Fastest: **{fastest['config']}** ({fastest['change']}), {fastest['median_ms']:.1f} ms "
        f"per step, {fastest['speedup']:.2f}x the baseline.",
    ]
    for r in doc["results"]:
        if r["sweep"]:
            lines += [
                "",
                f"## DataLoader sweep ({r['step']})",
                "",
                "| workers | prefetch | pinned | step ms | data wait ms |",
                "|--:|--:|---|--:|--:|",
            ]
            lines += [
                f"| {s['num_workers']} | {s['prefetch_factor']} | {s['pin_memory']} "
                f"| {s['step_ms']:.1f} | {s['data_wait_ms']:.1f} |"
                for s in r["sweep"]
            ]
    return "\n".join(lines) + "\n"


def charts(doc: dict[str, Any], folder: Path) -> list[Path]:
    """``time.png`` (median step time per configuration) and ``memory.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    table = rows(doc)
    names = [r["config"] for r in table]
    paths = []
    for key, label, name in (
        ("median_ms", "median step time (ms)", "time.png"),
        ("activation_mb", "activations saved for backward (MiB)", "memory.png"),
    ):
        fig, ax = plt.subplots(figsize=(8, 3.8))
        values = [r[key] for r in table]
        colors = ["#888"] + ["#3a7" if r["speedup"] >= 1 else "#c55" for r in table[1:]]
        ax.bar(names, values, color=colors)
        ax.set_ylabel(label)
        ax.set_title(f"{label} per configuration ({doc['device']})")
        ax.tick_params(axis="x", rotation=20)
        fig.tight_layout()
        path = folder / name
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def html_page(doc: dict[str, Any], images: list[Path]) -> str:
    """One self-contained HTML page: the table and the charts inlined."""
    return reports.html_page("gpuperf", markdown(doc), images)


def write_all(doc: dict[str, Any], folder: Path) -> dict[str, Path]:
    """Write ``results.json``, ``report.md``, the charts and ``report.html`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(doc, indent=1))
    md = folder / "report.md"
    md.write_text(markdown(doc))
    images = charts(doc, folder)
    page = folder / "report.html"
    page.write_text(html_page(doc, images))
    return {"json": folder / "results.json", "markdown": md, "html": page} | {
        p.stem: p for p in images
    }


def load(path: Path) -> dict[str, Any]:
    """Read a ``results.json`` written by ``gpuperf optimize``.

    Raises:
        ReportError: missing, not JSON, or not a gpuperf result.
    """
    return reports.load_results(
        path, SCHEMA, ("baseline", "results", "device", "steps"), ReportError, "gpuperf optimize"
    )
