"""The ``pulumiml`` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aiinfra_shared.cliapp import console, package_app, run_typer
from pulumiml import automation
from pulumiml.errors import PulumimlError
from pulumiml.graph import Graph, synthesize
from pulumiml.policies import POLICIES, PolicyReport, evaluate
from pulumiml.spec import Cloud, PlatformSpec, load_stack, stack_names

app = package_app(
    "Pulumi component resources for AWS/GCP/Azure ML platforms, tested under Pulumi mocks"
)

StackOpt = Annotated[str, typer.Option("--stack", "-s", help="Stack: stacks/Pulumi.<stack>.yaml")]
CloudOpt = Annotated[
    str | None, typer.Option("--cloud", "-c", help="aws, gcp or azure (default: the stack's)")
]


def _spec(stack: str, cloud: str | None) -> PlatformSpec:
    return load_stack(stack, cloud=cloud)


def resource_table(graph: Graph, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("resource type")
    table.add_column("count", justify="right")
    for type_token, n in sorted(graph.counts().items()):
        table.add_row(type_token, str(n))
    return table


def policy_table(report: PolicyReport, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("policy")
    table.add_column("verdict")
    table.add_column("violations")
    for policy in POLICIES:
        if policy.name not in report.results:
            continue
        found = report.results[policy.name]
        verdict = "[green]pass[/]" if not found else f"[red]FAIL ({len(found)})[/]"
        detail = "\n".join(f"{v.resource}: {v.message}" for v in found) or policy.description
        table.add_row(policy.name, verdict, detail)
    return table


@app.command()
def stacks() -> None:
    """List the shipped stacks and what differs between them."""
    table = Table(title="stacks (stacks/Pulumi.<stack>.yaml)", title_justify="left")
    for col in ("stack", "cloud", "env", "zones", "GPU nodes", "spot GPUs", "DB HA", "backups"):
        table.add_column(col)
    for name in stack_names():
        s = load_stack(name)
        table.add_row(
            name,
            s.cloud.value,
            s.environment,
            str(s.zones),
            f"{s.gpu_pool.min_nodes}-{s.gpu_pool.max_nodes}",
            str(s.gpu_pool.spot),
            str(s.database.high_availability),
            f"{s.database.backup_days} d",
        )
    console.print(table)


@app.command()
def synth(
    stack: StackOpt = "dev",
    cloud: CloudOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the graph as JSON")] = False,
) -> None:
    """Build the stack's resource graph under Pulumi mocks (no CLI, no cloud) and show it."""
    spec = _spec(stack, cloud)
    graph = synthesize(spec, stack=stack)
    if as_json:
        doc = {
            "stack": stack,
            "cloud": spec.cloud.value,
            "outputs": graph.outputs,
            "resources": [{"type": r.type, "name": r.name, "inputs": r.inputs} for r in graph],
        }
        typer.echo(json.dumps(doc, indent=2, sort_keys=True, default=str))
        return
    console.print(resource_table(graph, f"{stack} on {spec.cloud.value}: {len(graph)} resources"))
    for key, value in graph.outputs.items():
        console.print(f"  {key:22} {value}")


@app.command()
def check(stack: StackOpt = "dev", cloud: CloudOpt = None) -> None:
    """Run the policies over the stack's graph; exit 1 on any violation."""
    spec = _spec(stack, cloud)
    report = evaluate(synthesize(spec, stack=stack), spec.environment)
    console.print(policy_table(report, f"policies: {stack} on {spec.cloud.value}"))
    if not report.ok:
        raise typer.Exit(1)


def _drive(action: automation.Action, stack: str, cloud: str | None, state_dir: Path) -> None:
    spec = _spec(stack, cloud)
    outputs = automation.run(action, stack, spec, state_dir=state_dir, on_output=console.print)
    for key, value in outputs.items():
        console.print(f"  {key:22} {value}")


DEFAULT_STATE = Path(".pulumi-state")
StateOpt = Annotated[Path, typer.Option("--state-dir", help="Local state backend (file://)")]


@app.command()
def preview(
    stack: StackOpt = "dev", cloud: CloudOpt = None, state_dir: StateOpt = DEFAULT_STATE
) -> None:
    """`pulumi preview` through the Automation API (needs the CLI and credentials)."""
    _drive("preview", stack, cloud, state_dir)


@app.command()
def up(
    stack: StackOpt = "dev", cloud: CloudOpt = None, state_dir: StateOpt = DEFAULT_STATE
) -> None:
    """`pulumi up` through the Automation API (needs the CLI and credentials)."""
    _drive("up", stack, cloud, state_dir)


@app.command()
def destroy(
    stack: StackOpt = "dev", cloud: CloudOpt = None, state_dir: StateOpt = DEFAULT_STATE
) -> None:
    """`pulumi destroy` through the Automation API (needs the CLI and credentials)."""
    _drive("destroy", stack, cloud, state_dir)


@app.command()
def demo() -> None:
    """Every cloud x dev/prod: build under mocks, run the policies, compare; then the CLI check."""
    summary = Table(title="ML platform stacks, built under Pulumi mocks", title_justify="left")
    for col in ("cloud", "stack", "resources", "policies", "GPU pool", "database", "API server"):
        summary.add_column(col)
    for cloud in Cloud:
        for stack in ("dev", "prod"):
            spec = load_stack(stack, cloud=cloud)
            with console.status(f"synthesizing {stack} on {cloud.value} ..."):
                graph = synthesize(spec, stack=stack)
                report = evaluate(graph, spec.environment)
            passed = len(report.results) - len(report.failed())
            verdict = f"{passed}/{len(report.results)} pass" + (
                "" if report.ok else f" [red]({', '.join(report.failed())})[/]"
            )
            gpu = spec.gpu_pool
            summary.add_row(
                cloud.value,
                stack,
                str(len(graph)),
                verdict,
                f"{spec.gpu_machine_type()} x{gpu.min_nodes}-{gpu.max_nodes}"
                + (" spot" if gpu.spot else ""),
                f"{spec.db_class()}" + (" HA" if spec.database.high_availability else ""),
                "private" if spec.prod or not spec.admin_cidrs else ", ".join(spec.admin_cidrs),
            )
    console.print(summary)
    report = evaluate(synthesize(load_stack("prod"), stack="prod"), "prod")
    console.print(policy_table(report, "policies on prod (aws)"))
    try:
        automation.pulumi_cli()
        console.print("pulumi CLI found: `pulumiml preview --stack dev` previews against AWS")
    except PulumimlError as exc:
        console.print(f"[yellow]preview/up/destroy:[/] {exc}")


main = run_typer(app)
