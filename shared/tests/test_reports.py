from __future__ import annotations

import base64
from pathlib import Path

import pytest

from aiinfra_shared.errors import AiinfraError
from aiinfra_shared.reports import html_page, load_results, markdown_to_html


class DemoError(AiinfraError):
    pass


def test_markdown_tables_lists_headings_and_escaping() -> None:
    md = (
        "# Title <x>\n\nA **bold** `code` line.\n\n"
        "| a | b |\n|---|--:|\n| 1 | <2> |\n| 3 | 4 |\n\n- one\n- **two**\n## Next"
    )
    page = markdown_to_html(md)
    assert "<h1>Title &lt;x&gt;</h1>" in page
    assert "<p>A <strong>bold</strong> <code>code</code> line.</p>" in page
    assert "<table>\n<tr><th>a</th><th>b</th></tr>\n<tr><td>1</td><td>&lt;2&gt;</td></tr>" in page
    assert "<tr><td>3</td><td>4</td></tr>\n</table>" in page
    assert "<ul>\n<li>one</li>\n<li><strong>two</strong></li>\n</ul>\n<h2>Next</h2>" in page
    assert "---" not in page


def test_html_page_inlines_the_images(tmp_path: Path) -> None:
    png = tmp_path / "chart.png"
    png.write_bytes(b"\x89PNG fake")
    page = html_page("t", "# x", [png])
    assert base64.b64encode(b"\x89PNG fake").decode() in page
    assert 'alt="chart"' in page
    assert "<h2>Charts</h2>" in page
    assert "<h2>Charts</h2>" not in html_page("t", "# x")


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "run `demo run` first"), ("{", "not a readable JSON"),
     ("[]", "not a result of `demo run`"), ('{"schema": "other/1"}', "schema 'demo/1' expected"),
     ('{"schema": "demo/1"}', "has no 'rows'")],
)  # fmt: skip
def test_load_results_refuses_what_is_not_a_result(
    content: str | None, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DemoError, match=message):
        load_results(path, "demo/1", ("rows",), DemoError, "demo run")


def test_load_results_returns_the_document(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"schema": "demo/1", "rows": [1]}')
    assert load_results(path, "demo/1", ("rows",), DemoError, "demo run")["rows"] == [1]
