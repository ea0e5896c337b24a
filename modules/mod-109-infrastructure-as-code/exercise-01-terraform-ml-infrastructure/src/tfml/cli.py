"""The ``tfml`` command."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer
from aiinfra_shared.iac.checkov import CheckovReport
from aiinfra_shared.iac.hcl import load
from aiinfra_shared.iac.interface import check_tree
from aiinfra_shared.iac.plan import print_plan
from aiinfra_shared.iac.terraform import ProvidersUnavailableError, Terraform
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
    order = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}
    for f in sorted(report.failed, key=lambda f: (order.get(f.severity, 3), f.check_id)):
        style = {"HIGH": "bold red", "MEDIUM": "yellow"}.get(f.severity, "dim")
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


@app.command()
def test() -> None:
    """`terraform test` on the provider-free modules (the others need providers)."""
    tf = Terraform.find()
    failed = False
    with scratch_tree() as tree:
        results = {
            name: tf.test(tree / "modules" / name)
            for name, path in modules().items()
            if not load(path).required_providers and any(path.glob("tests/*.tftest.hcl"))
        }
    for name, result in results.items():
        summary = next((ln for ln in reversed(result.text.splitlines()) if "passed" in ln), "")
        console.print(f"{name}: {'[green]' if result.ok else '[red]'}{summary.strip()}[/]")
        failed |= not result.ok
    if failed:
        raise typer.Exit(1)


@app.command()
def validate() -> None:
    """`terraform validate` per environment, or the reason it cannot run here."""
    tf = Terraform.find()
    for env in environments():
        try:
            with scratch_tree() as tree:
                doc = tf.validate(tree / "environments" / env)
        except ProvidersUnavailableError as exc:
            console.print(f"{env}: [yellow]skipped[/]: {exc}")
            continue
        verdict = (
            "[green]valid[/]" if doc.get("valid") else f"[red]{doc.get('error_count')} errors[/]"
        )
        console.print(f"{env}: {verdict}")


@app.command()
def check(path: PathArg = None) -> None:
    """checkov with our checks; exit 1 on a HIGH finding or an unexplained skip."""
    target = path or terraform_dir()
    with console.status(f"checkov over {target} ..."):
        report = gate(target)
    console.print(checkov_table(report, report.headline))
    for s in report.unexplained_skips:
        console.print(f"[red]skip without a reason[/]: {s.check_id} on {s.resource}")
    high = report.at("HIGH")
    if not report.ok:
        console.print(f"[bold red]gate: FAIL[/] ({len(high)} HIGH)")
        raise typer.Exit(1)
    console.print("[green]gate: pass[/] (no HIGH finding; every skip has a reason)")


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
    for env in environments():
        try:
            with scratch_tree() as tree:
                tf.validate(tree / "environments" / env)
            console.print(f"terraform validate {env}: [green]ran[/]")
        except ProvidersUnavailableError as exc:
            console.print(f"terraform validate {env}: [yellow]skipped[/] ({exc})")
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
