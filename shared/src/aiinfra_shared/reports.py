"""Report helpers the packages share: a results JSON read back with its schema checked, and
one self-contained HTML page made from a Markdown report and PNG charts.

::

    doc = load_results(path, "fwbench/1", ("profile", "results"), FwbenchError, "fwbench run")
    page = html_page("fwbench", markdown_text, [Path("training.png")])

The Markdown understood is what the reports write: ``#``/``##``/``###`` headings, pipe
tables (the first row is the header, the ``|---|`` row is skipped), ``- `` lists, paragraphs,
``**bold**`` and ```code```. Everything else is escaped text.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from aiinfra_shared.errors import AiinfraError

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")
STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px}"
    "th{background:#f4f4f4}img{max-width:100%}code{background:#f4f4f4;padding:0 3px}"
)


def load_results(
    path: Path,
    schema: str,
    required: Iterable[str],
    error: type[AiinfraError],
    written_by: str,
) -> dict[str, Any]:
    """Read a results document and check it is one of ``schema``.

    Args:
        path: The JSON file.
        schema: The value its ``schema`` field must hold (``"fwbench/1"``).
        required: Top-level keys it must have.
        error: The package's error class, raised with one line.
        written_by: The command that writes such files, named when the file is missing.

    Raises:
        AiinfraError: ``error``: missing, unreadable, not JSON, another schema, a key missing.
    """
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise error(f"{path}: no such results file (run `{written_by}` first)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema") != schema:
        raise error(f"{path}: not a result of `{written_by}` (schema {schema!r} expected)")
    for key in required:
        if key not in doc:
            raise error(f"{path}: the result has no {key!r}")
    return doc


def _inline(text: str) -> str:
    escaped = html.escape(text)
    return _CODE.sub(r"<code>\1</code>", _BOLD.sub(r"<strong>\1</strong>", escaped))


def markdown_to_html(markdown: str) -> str:
    """The subset of Markdown the reports write, as HTML (see the module docstring)."""
    out: list[str] = []
    block: str | None = None  # "table" or "ul" while one is open

    def close() -> None:
        nonlocal block
        if block:
            out.append(f"</{block}>")
        block = None

    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells and set("".join(cells)) <= set("-: "):
                continue  # the header separator
            tag = "td"
            if block != "table":
                close()
                out.append("<table>")
                block, tag = "table", "th"
            out.append("<tr>" + "".join(f"<{tag}>{_inline(c)}</{tag}>" for c in cells) + "</tr>")
        elif line.startswith("- "):
            if block != "ul":
                close()
                out.append("<ul>")
                block = "ul"
            out.append(f"<li>{_inline(line[2:])}</li>")
        else:
            close()
            heading = re.match(r"(#{1,3}) (.*)", line)
            if heading:
                level = len(heading.group(1))
                out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            elif line.strip():
                out.append(f"<p>{_inline(line)}</p>")
    close()
    return "\n".join(out)


def html_page(
    title: str, markdown: str, images: Sequence[Path] = (), heading: str = "Charts"
) -> str:
    """One HTML page that needs no other file: the Markdown report and the PNGs inlined."""
    figures = "\n".join(
        f'<figure><img alt="{html.escape(p.stem)}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode()}"></figure>'
        for p in images
    )
    charts = f"<h2>{html.escape(heading)}</h2>\n{figures}\n" if images else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>\n{markdown_to_html(markdown)}\n{charts}"
        "</body></html>\n"
    )
