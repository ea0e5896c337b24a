"""Postmortems from the incident's own record (Markdown through a Jinja2 template)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent / "templates"


def _when(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")


def _span(start: str | None, end: str | None) -> str:
    if not start or not end:
        return "-"
    seconds = int((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def render(incident: dict[str, Any], *, summary: str = "", impact: str = "") -> str:
    """The postmortem of ``incident`` (as :meth:`Engine.incident` returns it)."""
    env = Environment(  # noqa: S701 (Markdown output, not HTML)
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["when"] = _when
    statuses = [n["status"] for n in incident["notifications"]]
    starts = [a["starts_at"] for a in incident["alerts"]]
    return env.get_template("postmortem.md.j2").render(
        incident=incident,
        summary=summary,
        impact=impact,
        tta=_span(incident["created_at"], incident["acknowledged_at"]),
        ttr=_span(incident["created_at"], incident["resolved_at"]),
        repeats=sum(a["repeats"] for a in incident["alerts"]),
        first_alert=min(starts) if starts else None,
        sent=statuses.count("sent"),
        failed=statuses.count("failed"),
    )
