from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF
from ragkit.errors import CorruptFileError, UnsupportedFileError
from ragkit.loaders import kind_of, load


def _pdf(path: Path, pages: list[list[str]]) -> Path:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def test_markdown_is_split_at_headings_and_keeps_code_blocks(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("intro\n# Title\nbody one\n## Part\n```\n# not a heading\n```\nbody two\n")
    sections = load(path)
    assert [(s.heading, s.text) for s in sections] == [
        ("", "intro"),
        ("Title", "body one"),
        ("Part", "```\n# not a heading\n```\nbody two"),
    ]


def test_html_drops_scripts_and_navigation(tmp_path: Path) -> None:
    path = tmp_path / "a.html"
    path.write_text(
        "<html><body><nav><li>Home</li></nav><script>var x = 1;</script>"
        "<h1>Runbook</h1><p>First <b>fact</b>.</p><h2>Failures</h2><ul><li>Restart it.</li></ul>"
        "<footer><p>copyright</p></footer></body></html>"
    )
    sections = load(path)
    assert [(s.heading, s.text) for s in sections] == [
        ("Runbook", "First fact ."),
        ("Failures", "Restart it."),
    ]


def test_plain_text_headings_are_underlined_or_upper_case(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Purpose\n=======\nIt stores things.\n\nFAILURES\nIt breaks.\n")
    assert [(s.heading, s.text) for s in load(path)] == [
        ("Purpose", "It stores things."),
        ("FAILURES", "It breaks."),
    ]


def test_pdf_gives_one_section_per_page_with_wrapped_lines_rejoined(tmp_path: Path) -> None:
    long = "The primary on-call engineer has fifteen minutes to acknowledge a page. " * 3
    path = _pdf(tmp_path / "h.pdf", [["Severity", long], ["Escalation", "Call the lead."]])
    sections = load(path)
    assert [(s.page, s.heading) for s in sections] == [(1, "Severity"), (2, "Escalation")]
    # multi_cell wrapped the paragraph over several lines; the loader joins them again.
    assert sections[0].text == long.strip()
    assert sections[1].text == "Call the lead."


@pytest.mark.parametrize(
    ("name", "data", "error", "message"),
    [
        ("x.exe", b"MZ", UnsupportedFileError, "unsupported file type '.exe'"),
        ("noext", b"text", UnsupportedFileError, "unsupported file type '(none)'"),
        ("bad.pdf", b"%PDF-1.7\nthis is not a pdf", CorruptFileError, "cannot parse"),
        ("latin.md", "caf\xe9".encode("latin-1"), CorruptFileError, "not UTF-8"),
        ("empty.txt", b"   \n", CorruptFileError, "no text found"),
    ],
)
def test_bad_files_are_refused_with_a_reason(
    tmp_path: Path, name: str, data: bytes, error: type[Exception], message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(path)


def test_truncated_pdf_is_corrupt(tmp_path: Path) -> None:
    good = _pdf(tmp_path / "good.pdf", [["Title", "Some text."]])
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(CorruptFileError):
        load(broken)


def test_kind_of_is_case_insensitive() -> None:
    assert kind_of(Path("A.PDF")) == "pdf"
    assert kind_of(Path("b.Markdown")) == "markdown"
