"""What ``aiinfra run 107-06`` shows: one training core, three drivers, one killed worker.

1. a single process trains the CNN (the reference);
2. torchrun starts 2 ranks (DDP on gloo); rank 1 is SIGKILLed mid-training, torchrun
   restarts both ranks and they resume from the last checkpoint;
3. with ``--ray`` (and the ``ray`` extra): Ray Train's TorchTrainer runs the same core on 2
   worker actors.

Then one table: every driver reaches the same validation accuracy, and the weights agree with
the single process up to float summation order.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

import torch
from rich.console import Console
from rich.table import Table

from ddptrain.config import TrainConfig
from ddptrain.launch import launch
from ddptrain.progress import event_bar, step_bar
from ddptrain.runner import load_weights, run_in_process


def max_abs_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """Largest absolute difference between two state dicts with the same keys."""
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


def demo_config(device: Literal["auto", "cpu", "cuda"] = "cpu") -> TrainConfig:
    """2 epochs of 32 steps, a checkpoint every 8 steps."""
    return TrainConfig(
        samples=2048, val_samples=512, epochs=2, global_batch=64, checkpoint_every=8, device=device
    )


def run_demo(
    out: Path | None = None, *, with_ray: bool = False, console: Console | None = None
) -> list[dict[str, Any]]:
    """Run the demo and print its table; returns the table's rows.

    Args:
        out: Folder for the runs (a temporary one by default).
        with_ray: Also run the Ray Train driver (needs the ``ray`` extra).
        console: Where to print.
    """
    console = console or Console()
    cfg = demo_config()
    with tempfile.TemporaryDirectory(prefix="ddptrain-demo-") as tmp:
        root = out or Path(tmp)
        console.rule("1. single process")
        with step_bar(console, "single") as on_step:
            single = run_in_process(cfg, root / "single", on_step=on_step)
        reference = single.state

        kill_at = 21
        console.rule(f"2. torchrun, 2 ranks (DDP on gloo); rank 1 is killed after step {kill_at}")
        with event_bar(console, "torchrun") as on_events:
            job = launch(
                cfg,
                root / "ddp",
                nproc=2,
                max_restarts=1,
                kill_at_step=kill_at,
                fresh=True,
                on_events=on_events,
            )
        rows: list[dict[str, Any]] = [
            {
                "driver": "single process",
                "workers": 1,
                "attempts": 1,
                "resumed from": "-",
                "val_acc": single.final["val_acc"],
                "diff": 0.0,
            },
            {
                "driver": "torchrun DDP",
                "workers": 2,
                "attempts": job.attempts,
                "resumed from": ", ".join(f"step {s}" for s in job.resumed_from) or "-",
                "val_acc": job.summary["final"]["val_acc"],
                "diff": max_abs_diff(reference, load_weights(root / "ddp")),
            },
        ]
        if with_ray:
            from ddptrain.ray_driver import ensure_ray, fit

            console.rule("3. Ray Train TorchTrainer, 2 workers (starting a local Ray)")
            ensure_ray(root / "ray-tmp")
            with console.status("Ray Train is running (worker start-up takes ~30 s)"):
                ray_fit = fit(cfg, root / "ray-storage", num_workers=2)
            rows.append(
                {
                    "driver": "Ray TorchTrainer",
                    "workers": 2,
                    "attempts": 1,
                    "resumed from": "-",
                    "val_acc": ray_fit.metrics["val_acc"],
                    "diff": max_abs_diff(reference, ray_fit.weights),
                }
            )

        table = Table(
            title=f"Same core, same global batch ({cfg.global_batch}), {single.steps} steps"
        )
        for col in (
            "driver",
            "workers",
            "attempts",
            "resumed from",
            "val_acc",
            "max |w - w_single|",
        ):
            table.add_column(col, justify="right" if col != "driver" else "left")
        for r in rows:
            table.add_row(
                r["driver"],
                str(r["workers"]),
                str(r["attempts"]),
                r["resumed from"],
                f"{r['val_acc']:.3f}",
                f"{r['diff']:.1e}",
            )
        console.print(table)
        console.print(
            "The weights differ only by float summation order (all-reduce adds the two ranks' "
            "gradients in another order than one process does); the killed run ends exactly "
            "where an uninterrupted one would."
        )
        return rows
