"""Rich tables of DataFrames, or JSON, for the CLI and the demo."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich.markup import escape
from rich.table import Table

from aiinfra_shared.cliapp import console


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.4g}"
    return escape(str(value))


def print_frame(frame: pd.DataFrame, title: str | None = None, as_json: bool = False) -> None:
    if as_json:
        print(frame.to_json(orient="records", date_format="iso", indent=2))
        return
    table = Table(title=title)
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    console.print(table)
