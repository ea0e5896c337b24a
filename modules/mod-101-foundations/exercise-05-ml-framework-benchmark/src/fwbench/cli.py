"""The ``fwbench`` command: run, report, models, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, progress_bar, run_typer, settings_from
from fwbench.config import PROFILES, Settings
from fwbench.errors import ConfigError, FwbenchError
from fwbench.models_torch import MODELS
from fwbench.runners import FRAMEWORKS

app = package_app(
    "101-05: a fair benchmark of the same CNN, Transformer and LSTM in PyTorch (eager and "
    "torch.compile) and JAX: warm-up excluded, compile time apart, median and IQR, peak "
    "memory per process, frameworks that are missing reported, never faked."
)

Out = Annotated[Path | None, typer.Option(help="Folder for results.json and the report.")]


@app.command()
def run(
    frameworks: Annotated[
        str, typer.Option(help=f"Comma list of {', '.join(FRAMEWORKS)} (or all).")
    ] = "all",
    models: Annotated[
        str, typer.Option(help=f"Comma list of {', '.join(MODELS)} (or all).")
    ] = "all",
    quick: Annotated[
        bool, typer.Option("--quick", help="The quick profile (few steps, batch 1 and 32).")
    ] = False,
    cpus: Annotated[
        str | None, typer.Option(help="CPUs to pin every worker to, e.g. 0,1 or 0-3.")
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="Intra-op threads per worker (default: one per CPU).")
    ] = None,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    out: Out = None,
) -> None:
    """Measure each (framework, model) pair in its own process; write JSON and the report."""
    from fwbench import bench, report

    settings = settings_from(Settings, FwbenchError)
    fw = bench.parse_list(frameworks, FRAMEWORKS, "framework")
    ms = bench.parse_list(models, MODELS, "model")
    pinned, n_threads = bench.parse_cpus(cpus, threads)
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"--device {device!r}: expected cpu or cuda")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: this machine has no CUDA device")
    profile = PROFILES["quick" if quick else "full"]
    folder = out or settings.out_dir
    with progress_bar() as bar:
        task = bar.add_task("measuring", total=len(fw) * len(ms))
        done = 0

        def tick(label: str) -> None:
            nonlocal done
            bar.update(task, description=label, completed=done)
            done += 1

        doc = bench.run(
            fw,
            ms,
            profile,
            cpus=pinned,
            threads=n_threads,
            device=device,
            timeout_s=settings.worker_timeout_s,
            progress=tick,
        )
    bench.save(doc, folder / "results.json")
    paths = report.write_all(doc, folder)
    console.print(report.markdown(doc), markup=False, highlight=False, soft_wrap=True)
    console.print(f"results: {folder / 'results.json'}; report: {paths['html']}")
    failed = [r for r in doc["results"] if r["status"] == "error"]
    if failed:
        raise FwbenchError(
            f"{len(failed)} pair(s) failed: "
            + "; ".join(f"{r['framework']}/{r['model']}: {r['error']}" for r in failed)
        )


@app.command("report")
def report_cmd(
    results: Annotated[Path, typer.Argument(help="A results.json written by `fwbench run`.")],
    out: Out = None,
) -> None:
    """Rebuild the Markdown, HTML and PNG report from a saved results.json."""
    from fwbench import bench, report

    doc = bench.load(results)
    paths = report.write_all(doc, out or results.parent)
    console.print(report.markdown(doc), markup=False, highlight=False, soft_wrap=True)
    console.print(f"report: {paths['html']}")


@app.command()
def models() -> None:
    """Each model's parameter count in every installed framework (they must match)."""
    from fwbench import bench, models_torch

    table = Table(title="parameters per framework (they must agree within 1%)")
    table.add_column("model")
    table.add_column("torch", justify="right")
    table.add_column("jax", justify="right")
    table.add_column("tensorflow", justify="right")
    counters: dict[str, Any] = {}
    if bench.probe("jax")["available"]:
        from fwbench import models_jax

        counters["jax"] = lambda m: models_jax.param_count(models_jax.build(m))
    if bench.probe("tensorflow")["available"]:
        from fwbench import models_tf

        counters["tensorflow"] = lambda m: models_tf.param_count(models_tf.build(m))
    for name in MODELS:
        torch_n = models_torch.param_count(models_torch.build(name))
        cells = []
        for fw in ("jax", "tensorflow"):
            if fw not in counters:
                cells.append("not installed")
                continue
            n = counters[fw](name)
            gap = f" ({(n - torch_n) / torch_n:+.2%})" if n != torch_n else ""
            cells.append(f"{n:,}{gap}")
        table.add_row(name, f"{torch_n:,}", *cells)
    console.print(table)


@app.command()
def demo(out: Out = None) -> None:
    """Show the exercise working (what `aiinfra run 101-05` runs)."""
    from fwbench.demo import run_demo

    run_demo(out, console=console)


main = run_typer(app)
