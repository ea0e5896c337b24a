"""A Rich table of dict rows, for the CLI and the demo."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from aiinfra_shared.cliapp import console


def table(rows: list[dict[str, Any]], title: str) -> None:
    t = Table(title=title)
    if not rows:
        console.print(f"{title}: none")
        return
    for column in rows[0]:
        t.add_column(str(column))
    for row in rows:
        t.add_row(*(escape(f"{v:,.2f}" if isinstance(v, float) else str(v)) for v in row.values()))
    console.print(t)
