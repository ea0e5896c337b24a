"""Scaling benchmark: the same job on 1, 2, ... workers, throughput and efficiency.

Strong scaling: the global batch stays fixed, so N workers each take 1/N of it. Speedup is
``samples/s(N) / samples/s(1)``, efficiency is ``speedup / N``. Throughput is measured inside
the workers over the training steps only (start-up, rendezvous and validation excluded); the
wall time column includes them.

On a CPU host the workers share the cores: 1 worker uses every core, N workers get
``cores / N`` threads each, so the table says how well DDP splits a fixed machine, not how it
would scale over more machines. On a GPU host each worker drives its own GPU.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ddptrain.config import TrainConfig
from ddptrain.errors import ConfigError
from ddptrain.launch import launch


@dataclass
class ScalingRow:
    """One line of the table."""

    workers: int
    threads_per_worker: int
    samples_per_s: float
    speedup: float
    efficiency: float
    wall_s: float
    val_acc: float


def run_scaling(
    cfg: TrainConfig, workers: list[int], out: Path, *, repeats: int = 1
) -> list[ScalingRow]:
    """Run ``cfg`` under torchrun for each worker count (best of ``repeats``).

    Raises:
        ConfigError: More workers than GPUs on a CUDA run, or a batch that does not split.
    """
    if not workers or min(workers) < 1:
        raise ConfigError("workers must be positive counts, e.g. 1,2")
    gpus = torch.cuda.device_count()
    on_gpu = cfg.device == "cuda" or (cfg.device == "auto" and gpus > 0)
    if on_gpu and max(workers) > gpus:
        raise ConfigError(f"{max(workers)} workers but only {gpus} GPU(s)")
    for n in workers:  # fail before the first run, not after it
        if cfg.global_batch % (n * cfg.accum_steps):
            raise ConfigError(f"global_batch={cfg.global_batch} does not split over {n} workers")
    cores = os.cpu_count() or 1
    rows: list[ScalingRow] = []
    base = 0.0
    for n in sorted(set(workers)):
        best = None
        for r in range(repeats):
            folder = out / f"w{n}-r{r}"
            shutil.rmtree(folder, ignore_errors=True)
            threads = max(1, cores // n)
            job = launch(cfg, folder, nproc=n, max_restarts=0, threads=threads, fresh=True)
            if best is None or job.summary["samples_per_s"] > best[0].summary["samples_per_s"]:
                best = (job, threads)
        assert best is not None
        job, threads = best
        tput = float(job.summary["samples_per_s"])
        base = base or tput
        speedup = tput / base
        rows.append(
            ScalingRow(
                workers=n,
                threads_per_worker=0 if on_gpu else threads,
                samples_per_s=tput,
                speedup=speedup,
                efficiency=speedup / n * min(workers),
                wall_s=job.seconds,
                val_acc=float(job.summary["final"]["val_acc"]),
            )
        )
    return rows


def markdown(rows: list[ScalingRow], device: str) -> str:
    """The table as markdown."""
    lines = [
        f"| workers ({device}) | threads/worker | samples/s | speedup | efficiency | wall s "
        "| val_acc |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        threads = "-" if r.threads_per_worker == 0 else str(r.threads_per_worker)
        lines.append(
            f"| {r.workers} | {threads} | {r.samples_per_s:,.0f} | {r.speedup:.2f}x | "
            f"{r.efficiency:.0%} | {r.wall_s:.1f} | {r.val_acc:.3f} |"
        )
    return "\n".join(lines)


def plot(rows: list[ScalingRow], path: Path, title: str) -> Path:
    """Throughput bars and an ideal-scaling line, to PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [r.workers for r in rows]
    ax.bar([str(x) for x in xs], [r.samples_per_s for r in rows], color="#4c72b0", label="measured")
    ideal = [rows[0].samples_per_s * x / xs[0] for x in xs]
    ax.plot([str(x) for x in xs], ideal, "k--", marker="o", label="ideal (linear)")
    for i, r in enumerate(rows):
        ax.annotate(f"{r.efficiency:.0%}", (i, r.samples_per_s), ha="center", va="bottom")
    ax.set_xlabel("workers")
    ax.set_ylabel("training samples/s")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_json(rows: list[ScalingRow], cfg: TrainConfig, path: Path) -> Path:
    """Rows and config as JSON (for later comparison)."""
    payload = {
        "config": cfg.model_dump(),
        "cpu_count": os.cpu_count(),
        "cuda_devices": torch.cuda.device_count(),
        "rows": [asdict(r) for r in rows],
    }
    path.write_text(json.dumps(payload, indent=2))
    return path
