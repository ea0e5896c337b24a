"""Read a file into sections: text plus where it came from (source, page, section heading).

PDF through pypdf (one section per page), Markdown split at its headings, HTML through
BeautifulSoup (headings h1-h3 start sections; scripts, styles and navigation are dropped),
plain text split at underlined or UPPERCASE heading lines. Anything else is refused with a
clear error, and so is a file that cannot be parsed: ingestion reports it and goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ragkit.errors import CorruptFileError, UnsupportedFileError

SUFFIXES = {".pdf": "pdf", ".md": "markdown", ".markdown": "markdown", ".html": "html",
            ".htm": "html", ".txt": "text"}  # fmt: skip


@dataclass(frozen=True)
class Section:
    """A piece of a document that chunks inherit metadata from."""

    text: str
    heading: str = ""
    page: int | None = None
    meta: dict[str, str] = field(default_factory=dict)


def kind_of(path: Path) -> str:
    """The loader for ``path``, by suffix.

    Raises:
        UnsupportedFileError: For any other suffix.
    """
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UnsupportedFileError(
            f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; "
            f"supported: {', '.join(sorted(SUFFIXES))}"
        )
    return kind


def load(path: Path) -> list[Section]:
    """The sections of one file, in order, empty ones dropped.

    Raises:
        UnsupportedFileError: Unknown file type.
        CorruptFileError: The file cannot be read or parsed, or holds no text.
    """
    kind = kind_of(path)
    try:
        if kind == "pdf":
            sections = _pdf(path)
        else:
            text = path.read_bytes().decode("utf-8")
            sections = {"markdown": _markdown, "html": _html, "text": _plain}[kind](text)
    except (UnsupportedFileError, CorruptFileError):
        raise
    except UnicodeDecodeError:
        raise CorruptFileError(f"{path.name}: not UTF-8 text") from None
    except Exception as exc:  # pypdf and bs4 raise many types on damaged input
        raise CorruptFileError(f"{path.name}: cannot parse ({type(exc).__name__}: {exc})") from None
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise CorruptFileError(f"{path.name}: no text found")
    return sections


def _pdf(path: Path) -> list[Section]:
    from pypdf import PdfReader

    reader = PdfReader(str(path), strict=True)
    out = []
    for number, page in enumerate(reader.pages, start=1):
        lines = [line.strip() for line in (page.extract_text() or "").splitlines()]
        lines = [line for line in lines if line]
        # The first line of a page is taken as its heading (our handbook has one per page).
        heading, body = (lines[0][:80], lines[1:]) if len(lines) > 1 else ("", lines)
        out.append(Section(text=_unwrap(body), heading=heading, page=number))
    return out


def _unwrap(lines: list[str]) -> str:
    """Rejoin lines a PDF wrapped: a line break stays only after a sentence ends."""
    text = ""
    for line in lines:
        text += ("\n" if text.endswith((".", "!", "?", ":")) else " ") + line if text else line
    return _squash(text)


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _markdown(text: str) -> list[Section]:
    out: list[Section] = []
    heading, lines = "", list[str]()
    in_code = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        match = None if in_code else _MD_HEADING.match(line)
        if match:
            out.append(Section(text="\n".join(lines).strip(), heading=heading))
            heading, lines = match.group(2), []
        else:
            lines.append(line)
    out.append(Section(text="\n".join(lines).strip(), heading=heading))
    return out


def _html(text: str) -> list[Section]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript"]):
        tag.decompose()
    root = soup.body or soup
    out: list[Section] = []
    heading, parts = "", list[str]()
    for element in root.find_all(["h1", "h2", "h3", "p", "li", "pre", "td"]):
        if element.name in {"h1", "h2", "h3"}:
            out.append(Section(text="\n".join(parts).strip(), heading=heading))
            heading, parts = element.get_text(" ", strip=True), []
        elif not element.find_parent(["p", "li", "pre", "td"]):  # nested: counted once
            parts.append(element.get_text(" ", strip=True))
    out.append(Section(text="\n".join(parts).strip(), heading=heading))
    return out


def _plain(text: str) -> list[Section]:
    lines = text.splitlines()
    out: list[Section] = []
    heading, body = "", list[str]()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        underlined = i + 1 < len(lines) and re.fullmatch(r"[=\-]{3,}", lines[i + 1].strip())
        upper = line.isupper() and 0 < len(line) < 60
        if line and (underlined or upper):
            out.append(Section(text="\n".join(body).strip(), heading=heading))
            heading, body = line.strip(), []
            i += 2 if underlined else 1
            continue
        body.append(line)
        i += 1
    out.append(Section(text="\n".join(body).strip(), heading=heading))
    return out


def _squash(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text).strip()
