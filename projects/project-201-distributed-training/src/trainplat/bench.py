"""Ray Train scaling: the same job on 1 and N workers; throughput measured inside the loop."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from trainplat.platform import submit
from trainplat.spec import JobSpec


@dataclass
class Row:
    workers: int
    samples_per_s: float
    speedup: float
    efficiency: float
    fit_s: float
    val_acc: float


def run(spec: JobSpec, workers: list[int], storage: Path) -> list[Row]:
    """Submit ``spec`` once per worker count (Ray must be connected)."""
    rows: list[Row] = []
    for n in workers:
        scaled = spec.model_copy(
            update={
                "name": f"{spec.name}-w{n}",
                "scaling": spec.scaling.model_copy(update={"num_workers": n}),
                "chaos": None,
            }
        )
        job = submit(scaled, storage, replace=True)
        # steady state: the median epoch after the first (which pays for warm-up)
        rates = sorted(r["samples_per_s"] for r in job.history[1:] or job.history)
        rate = rates[len(rates) // 2]
        base = rows[0].samples_per_s if rows else rate
        rows.append(
            Row(
                workers=n,
                samples_per_s=rate,
                speedup=rate / base,
                efficiency=rate / base / (n / workers[0]),
                fit_s=job.seconds,
                val_acc=float(job.metrics["val_acc"]),
            )
        )
    return rows


def markdown(rows: list[Row]) -> str:
    lines = [
        "| workers | samples/s | speedup | efficiency | fit s (incl. start-up) | val_acc |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.workers} | {r.samples_per_s:,.0f} | {r.speedup:.2f}x | {r.efficiency:.0%} "
        f"| {r.fit_s:.1f} | {r.val_acc:.3f} |"
        for r in rows
    ]
    return "\n".join(lines)


def save(rows: list[Row], folder: Path, label: str) -> Path:
    """JSON and a PNG of the rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"scaling-{label}.json").write_text(
        json.dumps({"cpu_count": os.cpu_count(), "rows": [asdict(r) for r in rows]}, indent=2)
    )
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [str(r.workers) for r in rows]
    ax.bar(xs, [r.samples_per_s for r in rows], label="measured")
    ax.plot(
        xs,
        [rows[0].samples_per_s * r.workers / rows[0].workers for r in rows],
        "k--o",
        label="ideal",
    )
    ax.set_xlabel("Ray Train workers")
    ax.set_ylabel("samples/s")
    ax.set_title(f"Ray Train scaling ({label})")
    ax.legend()
    fig.tight_layout()
    path = folder / f"scaling-{label}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
