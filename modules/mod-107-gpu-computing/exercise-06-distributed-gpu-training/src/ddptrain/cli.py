"""The ``ddptrain`` command: train (1 process or N under torchrun), ray, bench, show, demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer
from ddptrain.config import Settings, TrainConfig
from ddptrain.errors import ConfigError, DdptrainError

app = package_app(
    "Data-parallel training with torch DDP (gloo on CPU, NCCL on GPU) and Ray Train: "
    "one training core, three drivers, checkpoint/resume, a scaling benchmark."
)

Epochs = Annotated[int, typer.Option(help="Passes over the training set.")]
Samples = Annotated[int, typer.Option(help="Generated training images.")]
GlobalBatch = Annotated[int, typer.Option(help="Samples per optimizer step, all workers together.")]
Accum = Annotated[int, typer.Option("--accum", help="Gradient accumulation micro-steps.")]
Precision = Annotated[
    str, typer.Option(help="fp32, bf16 (autocast) or fp16 (autocast + GradScaler).")
]
Device = Annotated[str, typer.Option(help="auto, cpu or cuda.")]
Fsdp = Annotated[bool, typer.Option("--fsdp", help="Shard the model with FSDP2 instead of DDP.")]
Seed = Annotated[int, typer.Option(help="Seed of data, weights and shuffling.")]
CkptEvery = Annotated[int, typer.Option(help="Checkpoint every N steps (0: epoch ends only).")]


def make_config(**fields: Any) -> TrainConfig:
    """A :class:`TrainConfig` from CLI options; bad values become one clear line."""
    try:
        return TrainConfig(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid training options: {problems}") from exc


def _print_result(summary: dict[str, Any], title: str) -> None:
    table = Table(title=title)
    for col in ("epoch", "step", "train_loss", "val_loss", "val_acc"):
        table.add_column(col, justify="right")
    for row in summary["history"]:
        table.add_row(
            str(row["epoch"]),
            str(row["step"]),
            f"{row['train_loss']:.4f}",
            f"{row['val_loss']:.4f}",
            f"{row['val_acc']:.3f}",
        )
    console.print(table)
    if summary.get("samples_per_s"):
        console.print(f"throughput: {summary['samples_per_s']:,.0f} samples/s")


@app.command()
def train(
    out: Annotated[Path | None, typer.Option(help="Run folder (default <runs_dir>/train).")] = None,
    nproc: Annotated[
        int, typer.Option(help="Ranks: 1 trains in this process, more use torchrun.")
    ] = 1,
    epochs: Epochs = 3,
    samples: Samples = 4096,
    global_batch: GlobalBatch = 64,
    accum_steps: Accum = 1,
    lr: Annotated[float, typer.Option(help="SGD learning rate.")] = 0.05,
    precision: Precision = "fp32",
    device: Device = "auto",
    fsdp: Fsdp = False,
    seed: Seed = 0,
    checkpoint_every: CkptEvery = 0,
    fresh: Annotated[bool, typer.Option("--fresh", help="Start over instead of resuming.")] = False,
    kill_at_step: Annotated[
        int | None, typer.Option(help="SIGKILL one rank after this step, once (fault drill).")
    ] = None,
    kill_rank: Annotated[int, typer.Option(help="The rank --kill-at-step kills.")] = 1,
    max_restarts: Annotated[int | None, typer.Option(help="torchrun group restarts.")] = None,
) -> None:
    """Train the CNN; a checkpoint already in the run folder is resumed (unless --fresh)."""
    settings = Settings()
    cfg = make_config(
        epochs=epochs,
        samples=samples,
        global_batch=global_batch,
        accum_steps=accum_steps,
        lr=lr,
        precision=precision,
        device=device,
        fsdp=fsdp,
        seed=seed,
        checkpoint_every=checkpoint_every,
    )
    folder = out or settings.runs_dir / "train"
    from ddptrain.launch import check_launch

    check_launch(cfg, nproc, kill_at_step=kill_at_step, kill_rank=kill_rank)  # before anything runs
    if nproc == 1:
        if kill_at_step is not None:
            raise ConfigError("--kill-at-step needs --nproc 2 or more (it kills a torchrun rank)")
        import shutil

        from ddptrain.progress import step_bar
        from ddptrain.runner import RESULT, run_in_process

        if fresh:
            shutil.rmtree(folder, ignore_errors=True)
        with step_bar(console, "single process") as on_step:
            run_in_process(cfg, folder, on_step=on_step)
        summary = json.loads((folder / RESULT).read_text())
    else:
        from ddptrain.launch import launch
        from ddptrain.progress import event_bar

        with event_bar(console, f"torchrun x{nproc}") as on_events:
            job = launch(
                cfg,
                folder,
                nproc=nproc,
                fresh=fresh,
                kill_at_step=kill_at_step,
                kill_rank=kill_rank,
                max_restarts=settings.max_restarts if max_restarts is None else max_restarts,
                on_events=on_events,
            )
        summary = job.summary
        if job.resumed_from:
            console.print(f"restarted {job.attempts - 1}x, resumed from step(s) {job.resumed_from}")
    _print_result(summary, f"{folder} ({summary['launcher']}, {summary['world_size']} rank(s))")


@app.command("ray")
def ray_cmd(
    storage: Annotated[Path | None, typer.Option(help="Ray Train storage_path.")] = None,
    workers: Annotated[int, typer.Option(help="Ray Train workers (ranks).")] = 2,
    max_failures: Annotated[int, typer.Option(help="Worker-group restarts allowed.")] = 1,
    epochs: Epochs = 2,
    samples: Samples = 2048,
    global_batch: GlobalBatch = 64,
    device: Device = "cpu",
    seed: Seed = 0,
    checkpoint_every: CkptEvery = 0,
    kill_at_step: Annotated[int | None, typer.Option(help="SIGKILL one worker once.")] = None,
) -> None:
    """Train with Ray Train's TorchTrainer on a local Ray instance (the ``ray`` extra)."""
    from ddptrain.ray_driver import ensure_ray, fit

    cfg = make_config(
        epochs=epochs,
        samples=samples,
        global_batch=global_batch,
        device=device,
        seed=seed,
        checkpoint_every=checkpoint_every,
    )
    from ddptrain.launch import check_launch

    check_launch(cfg, workers, kill_at_step=kill_at_step, kill_rank=1)  # fit kills worker 1
    if max_failures < 0:
        raise ConfigError(f"--max-failures cannot be negative, got {max_failures}")
    folder = (storage or Settings().runs_dir / "ray").resolve()
    ensure_ray()
    with console.status(f"Ray Train: {workers} workers"):
        result = fit(
            cfg, folder, num_workers=workers, max_failures=max_failures, kill_at_step=kill_at_step
        )
    console.print(f"finished in {result.seconds:.0f} s; last checkpoint {result.checkpoint_dir}")
    console.print(json.dumps(result.metrics, indent=2))


@app.command()
def bench(
    workers: Annotated[str, typer.Option(help="Worker counts, comma separated.")] = "1,2",
    epochs: Epochs = 2,
    samples: Samples = 8192,
    global_batch: GlobalBatch = 128,
    width: Annotated[int, typer.Option(help="CNN width (bigger: more compute per sample).")] = 32,
    device: Device = "auto",
    repeats: Annotated[int, typer.Option(help="Best of N per worker count.")] = 1,
    out: Annotated[Path, typer.Option(help="Folder for the table, JSON and PNG.")] = Path(
        "runs/ddptrain/bench"
    ),
) -> None:
    """Scaling table (1 vs N workers under torchrun): samples/s, speedup, efficiency; PNG."""
    from ddptrain.bench import markdown, plot, run_scaling, write_json

    try:
        counts = [int(w) for w in workers.split(",") if w.strip()]
    except ValueError as exc:
        raise ConfigError(f"--workers must be comma-separated integers, got {workers!r}") from exc
    cfg = make_config(
        epochs=epochs, samples=samples, global_batch=global_batch, width=width, device=device
    )
    with console.status(f"benchmarking {counts} workers"):
        rows = run_scaling(cfg, counts, out, repeats=repeats)
    kind = "cuda" if rows and rows[0].threads_per_worker == 0 else "cpu"
    table = markdown(rows, kind)
    (out / "scaling.md").write_text(table + "\n")
    console.print(table)
    png = plot(rows, out / "scaling.png", f"DDP strong scaling ({kind})")
    write_json(rows, cfg, out / "scaling.json")
    console.print(f"wrote {png} and {out / 'scaling.json'}")


@app.command()
def allreduce(
    nproc: Annotated[int, typer.Option(help="Ranks (on GPU: at most one per GPU).")] = 2,
    device: Device = "auto",
    sizes_mb: Annotated[str, typer.Option(help="Tensor sizes in MB, comma separated.")] = "1,16",
    out: Annotated[Path, typer.Option(help="Folder for the log and report.")] = Path(
        "runs/ddptrain/allreduce"
    ),
) -> None:
    """Check all-reduce on every rank (gloo or NCCL) and measure its bus bandwidth."""
    from ddptrain.launch import allreduce_check

    with console.status(f"all-reduce on {nproc} ranks"):
        report = allreduce_check(out, nproc=nproc, device=device, sizes_mb=sizes_mb)
    table = Table(
        title=f"all-reduce, {report['backend']} on {report['world_size']} "
        f"{report['device']} rank(s): correct={report['correct_on_every_rank']}"
    )
    for col in ("MB", "ms", "bus GB/s"):
        table.add_column(col, justify="right")
    for row in report["sizes"]:
        table.add_row(f"{row['mb']:.1f}", f"{row['ms']:.2f}", f"{row['busbw_gbps']:.2f}")
    console.print(table)
    if not report["correct_on_every_rank"]:
        raise DdptrainError("all-reduce returned a wrong sum on some rank")


@app.command()
def show(folder: Annotated[Path, typer.Argument(help="A run folder.")]) -> None:
    """Print a finished run's history."""
    from ddptrain.runner import RESULT

    path = folder / RESULT
    if not path.exists():
        raise DdptrainError(f"{folder} holds no finished run ({RESULT} is missing)")
    summary = json.loads(path.read_text())
    _print_result(summary, f"{folder} ({summary['launcher']}, {summary['world_size']} rank(s))")


@app.command()
def demo(
    ray: Annotated[
        bool, typer.Option("--ray", help="Also run Ray Train (needs the extra).")
    ] = False,
) -> None:
    """Show the exercise working (what `aiinfra run 107-06` runs)."""
    from ddptrain.demo import run_demo

    run_demo(with_ray=ray, console=console)


main = run_typer(app)
