"""The ``tfml`` command."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer
from aiinfra_shared.iac.checkov import CheckovReport
from aiinfra_shared.iac.hcl import load
from aiinfra_shared.iac.interface import check_tree
from aiinfra_shared.iac.plan import print_plan
from aiinfra_shared.iac.terraform import (
    Terraform,
    Validation,
    report_module_tests,
    report_validations,
    validate_roots,
)
from tfml.cost import Estimate, estimate, load_prices
from tfml.errors import TfmlError
from tfml.gate import gate
from tfml.paths import environments, modules, scratch_tree, terraform_dir
from tfml.sizing import evaluate_sizing, platform_values

app = package_app(
    "Reusable Terraform modules for ML infrastructure: validated, policy-checked, costed"
)

PathArg = Annotated[Path | None, typer.Option("--path", help="Terraform tree (default: shipped)")]


def _prices() -> dict[str, object]:
    return load_prices(terraform_dir().parent / "prices" / "aws-us-east-1.yaml")


def module_table() -> Table:
    table = Table(title="modules (terraform/modules)", title_justify="left")
    for col in ("module", "providers", "variables", "validated", "outputs", "resources"):
        table.add_column(col, justify="right" if col not in ("module", "providers") else "left")
    for name, path in modules().items():
        cfg = load(path)
        table.add_row(
            name,
            ", ".join(sorted(cfg.required_providers)) or "none",
            str(len(cfg.variables)),
            str(sum(1 for v in cfg.variables.values() if v.validations)),
            str(len(cfg.outputs)),
            str(len(cfg.resources)),
        )
    return table


def checkov_table(report: CheckovReport, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("severity", "check", "resource", "where"):
        table.add_column(col)
    order = {"UNRATED": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3}
    for f in sorted(report.failed, key=lambda f: (order.get(f.severity, 3), f.check_id)):
        style = {"HIGH": "bold red", "UNRATED": "bold magenta", "MEDIUM": "yellow"}.get(
            f.severity, "dim"
        )
        table.add_row(
            f"[{style}]{f.severity}[/]",
            f"{f.check_id} {f.name}",
            f.resource,
            f"{f.file}:{f.lines[0]}",
        )
    return table


def cost_table(estimates: list[Estimate]) -> Table:
    table = Table(
        title="monthly cost estimate (USD, prices/aws-us-east-1.yaml)", title_justify="left"
    )
    table.add_column("item")
    for e in estimates:
        table.add_column(f"{e.environment}", justify="right")
        table.add_column(f"{e.environment} at max", justify="right")
    for i, item in enumerate(estimates[0].items):
        row = [item.item]
        for e in estimates:
            row += [f"{e.items[i].monthly:,.0f}", f"{e.items[i].monthly_at_max:,.0f}"]
        table.add_row(*row)
    total = ["[bold]total[/]"]
    for e in estimates:
        total += [f"[bold]{e.total:,.0f}[/]", f"[bold]{e.total_at_max:,.0f}[/]"]
    table.add_row(*total)
    return table


@app.command("modules")
def modules_cmd() -> None:
    """List the modules and check every interface (types, descriptions, calls, outputs)."""
    console.print(module_table())
    findings = check_tree(terraform_dir())
    for f in findings:
        console.print(f"[red]{f}[/]")
    if findings:
        raise typer.Exit(1)
    console.print("[green]interfaces ok[/]: every variable typed, documented and used; calls match")


@app.command()
def fmt(path: PathArg = None) -> None:
    """`terraform fmt -check -recursive`; exit 1 if a file needs formatting."""
    tf = Terraform.find()
    bad = tf.fmt_check(path or terraform_dir())
    for file in bad:
        console.print(f"[red]needs terraform fmt[/]: {file}")
    if bad:
        raise typer.Exit(1)
    console.print(f"[green]formatted[/] ({tf.kind}, terraform {tf.version()})")


@app.command("test")
def run_module_tests(
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail when a module's tests cannot run here.")
    ] = False,
) -> None:
    """`terraform test` on every module with tests: the provider-free ones run here; the AWS
    ones use mock_provider, which still needs `terraform init` to install hashicorp/aws."""
    with scratch_tree() as tree:
        folders = {name: tree / "modules" / name for name in modules()}
        code = report_module_tests(console, Terraform.find(), folders, strict=strict)
    if code:
        raise typer.Exit(code)


@contextmanager
def _scratch_root(*parts: str) -> Iterator[Path]:
    with scratch_tree() as tree:
        yield tree.joinpath(*parts)


def _validations(tf: Terraform) -> list[Validation]:
    roots = {env: partial(_scratch_root, "environments", env) for env in environments()}
    return validate_roots(tf, roots)


@app.command()
def validate(
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail when an environment cannot be validated.")
    ] = False,
) -> None:
    """`terraform validate` per environment, or the reason it cannot run here; exit 1 when
    one is invalid (or, with --strict, not validated)."""
    code = report_validations(console, _validations(Terraform.find()), strict=strict)
    if code:
        raise typer.Exit(code)


@app.command()
def check(path: PathArg = None) -> None:
    """checkov with our checks; exit 1 on a HIGH finding or an unexplained skip."""
    target = path or terraform_dir()
    with console.status(f"checkov over {target} ..."):
        report = gate(target)
    console.print(checkov_table(report, report.headline))
    for s in report.unexplained_skips:
        console.print(f"[red]skip without a reason[/]: {s.check_id} on {s.resource}")
    for f in report.unrated:
        console.print(f"[magenta]unrated[/]: {f.check_id}: rate it in policies/severity.yaml")
    if not report.ok:
        high, unrated = len(report.at("HIGH")), len(report.unrated)
        console.print(f"[bold red]gate: FAIL[/] ({high} HIGH, {unrated} unrated)")
        raise typer.Exit(1)
    console.print("[green]gate: pass[/] (no HIGH or unrated finding; every skip has a reason)")


@app.command()
def cost(env: Annotated[list[str] | None, typer.Option("--env")] = None) -> None:
    """Monthly cost per environment from the shipped price table."""
    envs = environments()
    chosen = env or list(envs)
    unknown = [e for e in chosen if e not in envs]
    if unknown:
        raise TfmlError(f"unknown environment(s) {unknown}; have {sorted(envs)}")
    prices = _prices()
    estimates = [
        estimate(e, platform_values(envs[e]), evaluate_sizing(envs[e])["sizing"], prices)
        for e in chosen
    ]
    console.print(cost_table(estimates))


@app.command("plan-summary")
def plan_summary(
    plan_json: Annotated[Path, typer.Argument(help="terraform show -json output")],
) -> None:
    """Summarise a JSON plan: creates, updates, replacements and destroys by module and type."""
    print_plan(console, plan_json)


@app.command()
def demo() -> None:
    """Interfaces, fmt, terraform test, validate, checkov gate and costs of the shipped tree."""
    tf = Terraform.find()
    console.print(f"[bold]tfml demo[/]: terraform {tf.version()} ({tf.kind})")
    console.print(module_table())
    findings = check_tree(terraform_dir())
    console.print(
        f"interfaces: {'[green]ok[/]' if not findings else f'[red]{len(findings)} findings[/]'}"
    )
    bad = tf.fmt_check(terraform_dir())
    console.print(f"terraform fmt -check: {'[green]ok[/]' if not bad else f'[red]{bad}[/]'}")
    with console.status("terraform test (naming module) ..."), scratch_tree() as tree:
        result = tf.test(tree / "modules" / "naming")
    runs = re.findall(r'run "([^"]+)"\.\.\. (pass|fail)', result.text)
    console.print(
        f"terraform test naming: {len(runs)} runs, {sum(s == 'pass' for _, s in runs)} pass"
    )
    console.print("terraform validate:")
    report_validations(console, _validations(tf), strict=False)
    with console.status("checkov over terraform/ (30-60 s) ..."):
        report = gate(terraform_dir())
    console.print(checkov_table(report, report.headline))
    console.print(f"gate: {'[green]pass[/]' if report.ok else '[red]FAIL[/]'}")
    envs = environments()
    prices = _prices()
    with console.status("evaluating sizing profiles with terraform ..."):
        estimates = [
            estimate(e, platform_values(p), evaluate_sizing(p, tf)["sizing"], prices)
            for e, p in envs.items()
        ]
    console.print(cost_table(estimates))


main = run_typer(app)
