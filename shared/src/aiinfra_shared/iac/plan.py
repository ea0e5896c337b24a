"""Summarise ``terraform show -json <planfile>``: what a plan creates, changes, destroys."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from aiinfra_shared.iac.errors import IacError

ACTIONS = {
    ("create",): "create",
    ("update",): "update",
    ("delete",): "destroy",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
    ("read",): "read",
    ("no-op",): "no-op",
}


@dataclass(frozen=True)
class Change:
    address: str
    module: str
    type: str
    action: str


@dataclass(frozen=True)
class PlanSummary:
    terraform_version: str
    changes: list[Change]
    outputs: dict[str, str]

    def counts(self) -> Counter[str]:
        return Counter(c.action for c in self.changes)

    def by_type(self) -> Counter[tuple[str, str, str]]:
        """(module, type, action) -> resources."""
        return Counter((c.module or "(root)", c.type, c.action) for c in self.changes)

    @property
    def destructive(self) -> list[Change]:
        return [c for c in self.changes if c.action in {"destroy", "replace"}]


def summarize(plan: dict[str, Any]) -> PlanSummary:
    """Summary of a plan document (the output of ``terraform show -json``)."""
    if "resource_changes" not in plan and "output_changes" not in plan:
        raise IacError("not a plan: no resource_changes/output_changes (use terraform show -json)")
    changes = []
    for rc in plan.get("resource_changes", []):
        actions = tuple(rc.get("change", {}).get("actions", []))
        changes.append(
            Change(
                address=rc["address"],
                module=rc.get("module_address", ""),
                type=rc["type"],
                action=ACTIONS.get(actions, "+".join(actions) or "unknown"),
            )
        )
    outputs = {
        name: ACTIONS.get(tuple(c.get("actions", [])), "?")
        for name, c in plan.get("output_changes", {}).items()
    }
    return PlanSummary(str(plan.get("terraform_version", "?")), changes, outputs)


def load_plan(path: Path) -> PlanSummary:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise IacError(f"{path}: cannot read a JSON plan ({exc})") from None
    if not isinstance(doc, dict):
        raise IacError(f"{path}: a plan is a JSON object")
    return summarize(doc)


def plan_table(summary: PlanSummary) -> Table:
    """A Rich table: resources per (module, type, action); destroys and replaces in red."""
    counts = summary.counts()
    table = Table(
        title=f"plan (terraform {summary.terraform_version}): "
        + ", ".join(f"{n} to {a}" for a, n in sorted(counts.items())),
        title_justify="left",
    )
    for col in ("module", "type", "action", "count"):
        table.add_column(col)
    for (module, rtype, action), n in sorted(summary.by_type().items()):
        style = {"destroy": "red", "replace": "red", "create": "green"}.get(action, "")
        table.add_row(module, rtype, f"[{style}]{action}[/]" if style else action, str(n))
    return table


def print_plan(console: Console, path: Path) -> PlanSummary:
    """Print the plan at ``path`` as a table, then each destructive change on its own line."""
    summary = load_plan(path)
    console.print(plan_table(summary))
    for change in summary.destructive:
        console.print(f"[bold red]{change.action}[/] {change.address}")
    return summary
