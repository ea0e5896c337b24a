"""Rich output of gates and rollouts."""

from __future__ import annotations

from rich.table import Table

from aiinfra_shared.cliapp import console
from mlcicd.deploy import Rollout, Step
from mlcicd.gates import Gate


def print_gate(gate: Gate) -> None:
    """One table per gate, the verdict in its title."""
    verdict = "[green]PASSED[/]" if gate.passed else "[red]FAILED[/]"
    table = Table("check", "result", "evidence", title=f"{gate.name} gate: {verdict}")
    for c in gate.checks:
        result = "skipped" if c.skipped else ("[green]pass[/]" if c.passed else "[red]FAIL[/]")
        table.add_row(c.name, result, c.evidence)
    console.print(table)


def step_row(step: Step) -> tuple[str, ...]:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    return (
        f"{step.weight}%", f"{step.canary.requests:.0f}", f"{step.canary.error_rate:.1%}",
        ms(step.canary.p95_ms), ms(step.stable.p95_ms),
        "[green]ok[/]" if step.verdict == "ok" else f"[red]{step.verdict}[/]",
    )  # fmt: skip


def print_rollout(result: Rollout) -> None:
    """The steps, the verdict, and what the clients saw."""
    if result.steps:
        table = Table("canary weight", "canary requests", "canary errors", "canary p95 ms",
                      "stable p95 ms", "verdict",
                      title=f"canary: version {result.version} vs {result.previous}")  # fmt: skip
        for step in result.steps:
            table.add_row(*step_row(step))
        console.print(table)
    colour = "green" if result.promoted else "red"
    console.print(f"[{colour}]{result.reason}[/]; production is version {result.production}")
    t = result.traffic
    if t.sent:
        served = ", ".join(f"v{v}: {n}" for v, n in sorted(t.by_version.items()))
        console.print(f"clients: {t.sent} requests, {t.failed} failed ({served})")
        for error in t.errors:
            console.print(f"  failure: {error}")
