"""The ``cloudinfra`` command."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer
from aiinfra_shared.iac.checkov import CheckovReport, run_checkov
from aiinfra_shared.iac.interface import check_tree
from aiinfra_shared.iac.plan import print_plan
from aiinfra_shared.iac.terraform import ProvidersUnavailableError, Terraform
from cloudinfra.cost import StackCost, load_prices, stack_cost
from cloudinfra.paths import CLOUDS, ENVIRONMENTS, policies_dir, scratch_tree, terraform_dir
from cloudinfra.stacks import SERVICES, Gpu, check_tfvars, stack_gpu

app = package_app(
    "Multi-cloud ML stacks in Terraform (SageMaker/EKS, Vertex/GKE, Azure ML/AKS), checked offline"
)


def gate(path: Path) -> CheckovReport:
    """checkov with the repo's severity table and this exercise's GCP/Azure checks."""
    return run_checkov(path, policies=[policies_dir()])


def costs(terraform: Terraform) -> list[tuple[StackCost, Gpu]]:
    """Each (cloud, environment): its cost and the GPU pool the catalog gave it."""
    out = []
    for cloud in CLOUDS:
        prices = load_prices(cloud)
        for env in ENVIRONMENTS:
            gpu = stack_gpu(cloud, env, terraform)
            out.append((stack_cost(cloud, env, gpu, prices), gpu))
    return out


def compare_table(terraform: Terraform) -> Table:
    table = Table(title="one ML stack, three clouds (USD/month, list prices)", title_justify="left")
    for col in ("cloud", "services", "env", "GPU node", "pool", "month", "GPUs at max"):
        table.add_column(col, justify="right" if col in ("month", "GPUs at max") else "left")
    for cost, gpu in costs(terraform):
        svc = SERVICES[cost.cloud]
        machine = gpu.machine_type + (f" + {gpu.accelerator}" if gpu.accelerator else "")
        table.add_row(
            cost.cloud,
            f"{svc['short']}",
            cost.environment,
            machine,
            f"{gpu.min}-{gpu.max}" + (" spot" if gpu.spot else ""),
            f"{cost.total:,.0f}",
            f"{cost.total_at_max:,.0f}",
        )
    return table


@app.command()
def check(path: Annotated[Path | None, typer.Option("--path")] = None) -> None:
    """Interfaces + tfvars + fmt + checkov gate; exit 1 on any problem."""
    root = path or terraform_dir()
    problems = check_tree(root) + (check_tfvars() if path is None else [])
    for f in problems:
        console.print(f"[red]{f}[/]")
    tf = Terraform.find()
    unformatted = tf.fmt_check(root)
    for file in unformatted:
        console.print(f"[red]needs terraform fmt[/]: {file}")
    with console.status(f"checkov over {root} ..."):
        report = gate(root)
    console.print(report.headline)
    for finding in report.at("HIGH"):
        console.print(f"[bold red]{finding}[/]")
    for skip in report.unexplained_skips:
        console.print(f"[red]skip without a reason[/]: {skip.check_id} on {skip.resource}")
    if problems or unformatted or not report.ok:
        console.print("[bold red]FAIL[/]")
        raise typer.Exit(1)
    console.print("[green]pass[/]: interfaces, tfvars, fmt, no HIGH finding")


@app.command()
def test() -> None:
    """`terraform test` of the provider-free gpu-catalog module."""
    tf = Terraform.find()
    with scratch_tree() as tree:
        result = tf.test(tree / "modules" / "gpu-catalog")
    runs = re.findall(r'run "([^"]+)"\.\.\. (pass|fail)', result.text)
    for name, verdict in runs:
        console.print(f"  {name}: {'[green]' if verdict == 'pass' else '[red]'}{verdict}[/]")
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def validate() -> None:
    """`terraform validate` per stack, or the reason it cannot run here."""
    tf = Terraform.find()
    for cloud in CLOUDS:
        try:
            with scratch_tree() as tree:
                doc = tf.validate(tree / "stacks" / cloud)
            console.print(f"{cloud}: {'[green]valid[/]' if doc.get('valid') else doc}")
        except ProvidersUnavailableError as exc:
            console.print(f"{cloud}: [yellow]skipped[/]: {exc}")


@app.command("plan-summary")
def plan_summary(
    plan_json: Annotated[Path, typer.Argument(help="terraform show -json output")],
) -> None:
    """Summarise a stack's JSON plan: creates, updates, replacements, destroys."""
    print_plan(console, plan_json)


@app.command()
def compare() -> None:
    """Each cloud's stack side by side: services, GPU machine, monthly cost."""
    console.print(compare_table(Terraform.find()))


@app.command()
def demo() -> None:
    """The stacks, the real `terraform test`, validate (or why not), the gate, the comparison."""
    tf = Terraform.find()
    console.print(f"[bold]cloudinfra demo[/]: terraform {tf.version()} ({tf.kind})")
    findings = check_tree(terraform_dir()) + check_tfvars()
    console.print(f"interfaces and tfvars: {findings if findings else '[green]ok[/]'}")
    with console.status("terraform test gpu-catalog ..."), scratch_tree() as tree:
        result = tf.test(tree / "modules" / "gpu-catalog")
    runs = re.findall(r'run "([^"]+)"\.\.\. (pass|fail)', result.text)
    console.print(
        f"terraform test gpu-catalog: {sum(v == 'pass' for _, v in runs)}/{len(runs)} runs pass"
    )
    for cloud in CLOUDS:
        try:
            with scratch_tree() as tree:
                tf.validate(tree / "stacks" / cloud)
            console.print(f"terraform validate {cloud}: [green]ran[/]")
        except ProvidersUnavailableError as exc:
            console.print(f"terraform validate {cloud}: [yellow]skipped[/] ({exc})")
    with console.status("checkov over the three stacks (about 20-40 s) ..."):
        report = gate(terraform_dir())
    console.print(f"{report.headline}: gate {'[green]pass[/]' if report.ok else '[red]FAIL[/]'}")
    with console.status("pricing each stack (terraform evaluates the GPU catalog) ..."):
        table = compare_table(tf)
    console.print(table)


main = run_typer(app)
