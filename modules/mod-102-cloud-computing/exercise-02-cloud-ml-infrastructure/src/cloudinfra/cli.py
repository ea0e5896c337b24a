"""The ``cloudinfra`` command."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer
from aiinfra_shared.iac.checkov import CheckovReport, run_checkov
from aiinfra_shared.iac.interface import check_tree
from aiinfra_shared.iac.plan import print_plan
from aiinfra_shared.iac.terraform import (
    Terraform,
    Validation,
    report_module_tests,
    report_validations,
    validate_roots,
)
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
    for finding in report.at("HIGH") + report.unrated:
        console.print(f"[bold red]{escape(str(finding))}[/]")
    for finding in report.unrated:
        console.print(f"[magenta]unrated[/]: {finding.check_id}: rate it in policies/severity.yaml")
    for skip in report.unexplained_skips:
        console.print(f"[red]skip without a reason[/]: {skip.check_id} on {skip.resource}")
    if problems or unformatted or not report.ok:
        console.print("[bold red]FAIL[/]")
        raise typer.Exit(1)
    console.print("[green]pass[/]: interfaces, tfvars, fmt, no HIGH or unrated finding")


@app.command("test")
def run_module_tests(
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail when a module's tests cannot run here.")
    ] = False,
) -> None:
    """`terraform test` of every module with tests: gpu-catalog runs here (no provider); the
    aws-ml test uses mock_provider, which still needs `terraform init` to install the provider."""
    with scratch_tree() as tree:
        folders = {p.name: p for p in sorted((tree / "modules").iterdir()) if p.is_dir()}
        code = report_module_tests(console, Terraform.find(), folders, strict=strict)
    if code:
        raise typer.Exit(code)


@contextmanager
def _scratch_root(*parts: str) -> Iterator[Path]:
    with scratch_tree() as tree:
        yield tree.joinpath(*parts)


def _validations(tf: Terraform) -> list[Validation]:
    return validate_roots(tf, {c: partial(_scratch_root, "stacks", c) for c in CLOUDS})


@app.command()
def validate(
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail when a stack cannot be validated.")
    ] = False,
) -> None:
    """`terraform validate` per stack, or the reason it cannot run here; exit 1 when one is
    invalid (or, with --strict, not validated)."""
    code = report_validations(console, _validations(Terraform.find()), strict=strict)
    if code:
        raise typer.Exit(code)


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
    console.print("terraform validate:")
    report_validations(console, _validations(tf), strict=False)
    with console.status("checkov over the three stacks (about 20-40 s) ..."):
        report = gate(terraform_dir())
    console.print(f"{report.headline}: gate {'[green]pass[/]' if report.ok else '[red]FAIL[/]'}")
    with console.status("pricing each stack (terraform evaluates the GPU catalog) ..."):
        table = compare_table(tf)
    console.print(table)


main = run_typer(app)
