"""The ``gpuperf`` command: profile, optimize, find-batch, report, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from
from gpuperf.config import RunConfig, Settings
from gpuperf.errors import GpuperfError

app = package_app(
    "107-05: profile a training loop, say whether it is input-, compute- or overhead-bound, "
    "then make it faster one switch at a time (AMP, gradient accumulation, activation "
    "checkpointing, DataLoader tuning, torch.compile, channels-last), each measured before "
    "and after and checked for correctness."
)

Batch = Annotated[int | None, typer.Option(help="Samples per optimizer step (32).")]
Device = Annotated[str | None, typer.Option(help="cpu, cuda or auto (cpu).")]
ImageSize = Annotated[int | None, typer.Option(help="Side of the training images (32).")]
Width = Annotated[int | None, typer.Option(help="Channels of the model's first stage (16).")]
Out = Annotated[Path | None, typer.Option(help="Output folder (default under runs/gpuperf).")]


def _config(**options: Any) -> RunConfig:
    return settings_from(RunConfig, GpuperfError, **options)


@app.command()
def profile(
    batch: Batch = None,
    workers: Annotated[int | None, typer.Option(help="DataLoader workers (0).")] = None,
    precision: Annotated[str | None, typer.Option(help="fp32, bf16 or fp16 (CUDA).")] = None,
    compile: Annotated[bool, typer.Option("--compile", help="torch.compile the model.")] = False,
    device: Device = None,
    image_size: ImageSize = None,
    width: Width = None,
    active: Annotated[int, typer.Option(min=1, max=100, help="Steps recorded.")] = 4,
    out: Out = None,
) -> None:
    """Profile the loop (torch.profiler), export a Chrome trace, and classify the bottleneck."""
    from gpuperf.profiling import profile_loop

    cfg = _config(
        batch=batch,
        num_workers=workers,
        precision=precision,
        compile=compile or None,
        device=device,
        image_size=image_size,
        width=width,
    )
    folder = out or Settings().out_dir / "profile"
    with console.status("profiling"):
        result = profile_loop(cfg, folder, active=active)
    v = result.verdict
    table = Table(title=f"top operators by self time (ms per step, {active} steps recorded)")
    table.add_column("operator")
    table.add_column("calls", justify="right")
    table.add_column("ms / step", justify="right")
    for row in result.top_ops:
        table.add_row(row["op"], str(row["calls"]), f"{row['self_ms']:.2f}")
    console.print(table)
    if result.top_memory:
        mem = Table(title="top operators by memory allocated (MiB per step)")
        mem.add_column("operator")
        mem.add_column("MiB / step", justify="right")
        for row in result.top_memory[:6]:
            mem.add_row(row["op"], f"{row['self_mb']:.1f}")
        console.print(mem)
    phases = ", ".join(f"{k} {ms:.1f} ms" for k, ms in v.phase_ms.items())
    console.print(f"step {v.step_ms:.1f} ms: {phases}", markup=False)
    shares = ", ".join(f"{k} {s:.0%}" for k, s in v.shares.items())
    console.print(f"verdict: {v.bound} ({shares})", markup=False)
    console.print(f"why: {v.evidence}", markup=False)
    console.print(f"trace: {result.trace} (open in https://ui.perfetto.dev)", markup=False)


@app.command()
def optimize(
    steps: Annotated[
        str,
        typer.Option(help="Comma list of amp, accum, ckpt, loader, compile, channels (or all)."),
    ] = "amp,accum,ckpt,loader,compile",
    batch: Batch = None,
    device: Device = None,
    image_size: ImageSize = None,
    width: Width = None,
    train_steps: Annotated[int | None, typer.Option(help="Timed steps per configuration.")] = None,
    warmup: Annotated[int | None, typer.Option(help="Untimed steps first.")] = None,
    out: Out = None,
) -> None:
    """Measure the baseline, each switch and their combination; write the report."""
    from gpuperf import optimize as opt
    from gpuperf import report

    settings = settings_from(Settings, GpuperfError, steps=train_steps, warmup=warmup)
    names = opt.parse_steps(steps)
    cfg = _config(batch=batch, device=device, image_size=image_size, width=width)
    with console.status("measuring") as status:
        doc = opt.optimize(
            cfg,
            names,
            steps=settings.steps,
            warmup=settings.warmup,
            progress=lambda label: status.update(f"measuring {label}"),
        )
    paths = report.write_all(doc, out or settings.out_dir / "optimize")
    console.print(report.markdown(doc), markup=False, highlight=False, soft_wrap=True)
    console.print(f"report: {paths['html']}", markup=False)
    failed = [r["step"] for r in doc["results"] if not r["check"]["passed"]]
    if failed:
        raise GpuperfError(f"correctness check failed for: {', '.join(failed)}")


@app.command("find-batch")
def find_batch(
    budget_mb: Annotated[float, typer.Option(help="Memory budget in MiB.")] = 256.0,
    device: Device = None,
    image_size: ImageSize = None,
    width: Width = None,
    checkpointing: Annotated[
        bool, typer.Option("--checkpointing", help="With activation checkpointing.")
    ] = False,
    precision: Annotated[str | None, typer.Option(help="fp32, bf16 or fp16 (CUDA).")] = None,
) -> None:
    """The largest batch whose training step fits a memory budget."""
    import math

    from gpuperf.optimize import MAX_BATCH
    from gpuperf.optimize import find_batch as search

    if not math.isfinite(budget_mb):
        raise GpuperfError(f"--budget-mb {budget_mb}: must be a finite number")
    cfg = _config(
        device=device,
        image_size=image_size,
        width=width,
        checkpointing=checkpointing or None,
        precision=precision,
    )
    best, probes = search(cfg, budget_mb)
    table = Table(title=f"batch sizes probed (budget {budget_mb:g} MiB)")
    table.add_column("batch", justify="right")
    table.add_column("MiB", justify="right")
    table.add_column("fits")
    for p in probes:
        table.add_row(
            str(int(p["batch"])), f"{p['mb']:.1f}", "yes" if p["mb"] <= budget_mb else "no"
        )
    console.print(table)
    console.print(f"largest batch within {budget_mb:g} MiB: {best}")
    if best >= MAX_BATCH:
        console.print(f"(the search stops at {MAX_BATCH}: larger batches fit too)")


@app.command("report")
def report_cmd(
    results: Annotated[Path, typer.Argument(help="A results.json written by `gpuperf optimize`.")],
    out: Out = None,
) -> None:
    """Rebuild the Markdown, HTML and PNG report from a saved results.json."""
    from gpuperf import report

    doc = report.load(results)
    paths = report.write_all(doc, out or results.parent)
    console.print(report.markdown(doc), markup=False, highlight=False, soft_wrap=True)
    console.print(f"report: {paths['html']}", markup=False)


@app.command()
def demo(out: Out = None) -> None:
    """Show the exercise working (what `aiinfra run 107-05` runs)."""
    from gpuperf.demo import run_demo

    run_demo(out, console=console)


main = run_typer(app)
