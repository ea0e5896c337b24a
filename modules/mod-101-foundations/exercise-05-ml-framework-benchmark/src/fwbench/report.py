"""Turn a result document into a Markdown table, PNG charts and one HTML page.

Every number shown is computed here from the raw samples in the JSON (median and IQR of the
step times, p50/p99 of the latencies), so a report can be rebuilt from a saved result at any
time. Pairs that were not measured appear with their reason, never with a number.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from aiinfra_shared import reports
from fwbench.stats import per_second, summarize


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None or not math.isfinite(seconds) else f"{seconds * 1e3:.2f}"


def _num(value: float | None, fmt: str = ",.0f") -> str:
    return "-" if value is None or not math.isfinite(value) else format(value, fmt)


def compile_seconds(result: dict[str, Any]) -> float | None:
    """Seconds spent compiling the training step.

    JAX: the ahead-of-time ``lower().compile()`` time, measured directly. ``torch.compile``:
    the first step's time minus the median step (the compilation happens inside the first
    call). Eager PyTorch compiles nothing: ``None``.
    """
    if result.get("compile_s") is not None:
        return float(result["compile_s"])
    if result.get("framework") == "torch-compile" and result.get("train", {}).get("step_s"):
        first = float(result["first_step_s"])
        return max(0.0, first - summarize(result["train"]["step_s"])["median"])
    return None


def training_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per measured pair: step time median/IQR, samples/s, compile, loss, memory."""
    rows = []
    for r in doc["results"]:
        if r.get("status") != "ok":
            continue
        step = summarize(r["train"]["step_s"])
        rows.append(
            {
                "framework": r["framework"],
                "model": r["model"],
                "params": r["params"],
                "step_median_s": step["median"],
                "step_iqr_s": step["iqr"],
                "samples_per_s": per_second(r["train"]["batch"], step["median"]),
                "compile_s": compile_seconds(r),
                "loss_first": r["train"]["losses"][0],
                "loss_last": r["train"]["losses"][-1],
                "peak_rss_mb": r["memory"]["peak_rss_mb"],
                "baseline_rss_mb": r["memory"]["baseline_rss_mb"],
                "device_peak_mb": r["memory"].get("device_peak_mb"),
            }
        )
    return rows


def inference_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per measured pair and batch size: latency p50/p99 and throughput."""
    rows = []
    for r in doc["results"]:
        if r.get("status") != "ok":
            continue
        for bs, entry in sorted(r["infer"].items(), key=lambda kv: int(kv[0])):
            lat = summarize(entry["latency_s"])
            rows.append(
                {
                    "framework": r["framework"],
                    "model": r["model"],
                    "batch": int(bs),
                    "p50_s": lat["p50"],
                    "p99_s": lat["p99"],
                    "samples_per_s": per_second(int(bs), lat["p50"]),
                    "first_call_s": entry["first_call_s"],
                }
            )
    return rows


def not_measured(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """``(what, why)`` for every framework or pair that has no numbers."""
    out: list[tuple[str, str]] = []
    for info in doc["frameworks"]:
        if not info["available"]:
            out.append((info["name"], info["reason"] or "not available"))
    for r in doc["results"]:
        if r.get("status") == "error":
            out.append((f"{r['framework']} / {r['model']}", f"failed: {r.get('error')}"))
    return out


def markdown(doc: dict[str, Any]) -> str:
    """The report as Markdown: environment, parameters, training, inference, not measured."""
    env = doc["environment"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines = [
        f"# fwbench: {doc['profile']['name']} profile, {doc['created']}",
        "",
        f"{env['cpu_model']}; {env['threads']} thread(s) pinned to CPUs {env['cpus']}; "
        f"device {env['device']}; Python {env['python']}; {versions}.",
        "",
        f"Training: batch {doc['profile']['train_batch']}, "
        f"{doc['profile']['warmup_steps']} warm-up steps excluded, "
        f"median [IQR] of {doc['profile']['train_steps']} timed steps. Inference: "
        f"p50/p99 of {doc['profile']['infer_repeats']} timed calls per batch size.",
        "",
        "## Training",
        "",
        "| framework | model | params | step ms median [IQR] | samples/s | compile s "
        "| loss first -> last | peak RSS MiB (after import) |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for row in training_rows(doc):
        mem = f"{_num(row['peak_rss_mb'])} ({_num(row['baseline_rss_mb'])})"
        if row["device_peak_mb"] is not None:
            mem += f"; device {_num(row['device_peak_mb'])}"
        lines.append(
            f"| {row['framework']} | {row['model']} | {row['params']:,} "
            f"| {_ms(row['step_median_s'])} [{_ms(row['step_iqr_s'])}] "
            f"| {_num(row['samples_per_s'])} | {_num(row['compile_s'], '.2f')} "
            f"| {row['loss_first']:.3f} -> {row['loss_last']:.3f} | {mem} |"
        )
    lines += [
        "",
        "## Inference",
        "",
        "| framework | model | batch | p50 ms | p99 ms | samples/s | first call ms |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for row in inference_rows(doc):
        lines.append(
            f"| {row['framework']} | {row['model']} | {row['batch']} | {_ms(row['p50_s'])} "
            f"| {_ms(row['p99_s'])} | {_num(row['samples_per_s'])} | {_ms(row['first_call_s'])} |"
        )
    missing = not_measured(doc)
    if missing:
        lines += ["", "## Not measured", ""]
        lines += [f"- **{what}**: {why}" for what, why in missing]
    return "\n".join(lines) + "\n"


def charts(doc: dict[str, Any], folder: Path) -> list[Path]:
    """PNG charts: training throughput, latency vs batch size, peak memory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    train = training_rows(doc)
    infer = inference_rows(doc)
    paths: list[Path] = []
    if not train:
        return paths
    models = list(dict.fromkeys(r["model"] for r in train))
    frameworks = list(dict.fromkeys(r["framework"] for r in train))
    width = 0.8 / max(1, len(frameworks))

    def bars(key: str, ylabel: str, title: str, name: str) -> None:
        fig, ax = plt.subplots(figsize=(7, 4))
        for i, fw in enumerate(frameworks):
            values = [
                next((r[key] or 0 for r in train if r["model"] == m and r["framework"] == fw), 0)
                for m in models
            ]
            ax.bar([j + i * width for j in range(len(models))], values, width, label=fw)
        ax.set_xticks([j + width * (len(frameworks) - 1) / 2 for j in range(len(models))], models)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend()
        fig.tight_layout()
        path = folder / name
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)

    bars("samples_per_s", "samples / s (median step)", "Training throughput", "training.png")
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 3.6), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        for fw in frameworks:
            pts = [
                (r["batch"], r["p50_s"] * 1e3)
                for r in infer
                if r["model"] == model and r["framework"] == fw
            ]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=fw)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.set_ylabel("p50 latency (ms)")
        ax.set_title(model)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = folder / "latency.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    paths.append(path)
    bars("peak_rss_mb", "peak RSS (MiB)", "Peak memory of each worker process", "memory.png")
    return paths


def html_page(doc: dict[str, Any], images: list[Path]) -> str:
    """One self-contained HTML page: the tables and the charts inlined as PNG."""
    return reports.html_page("fwbench", markdown(doc), images)


def write_all(doc: dict[str, Any], folder: Path) -> dict[str, Path]:
    """Write ``report.md``, the PNG charts and ``report.html`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    md = folder / "report.md"
    md.write_text(markdown(doc))
    images = charts(doc, folder)
    page = folder / "report.html"
    page.write_text(html_page(doc, images))
    return {"markdown": md, "html": page} | {p.stem: p for p in images}
