"""The shipped corpus: the operations handbook of "Lumen", a fictional ML platform.

Everything is generated from the facts in ``data/lumen.yaml``, deterministically, so the
evaluation questions have exact gold answers: one runbook per service (Markdown, HTML or plain
text), four policy pages, and an on-call handbook as a three-page PDF. ``ragkit corpus
DIR`` writes it for reading; the demo and ``ragkit eval`` write it to a temporary folder.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Service:
    """One platform service and the facts its runbook states."""

    name: str
    team: str
    purpose: str
    port: int
    p99_ms: int
    availability: str
    depends_on: tuple[str, ...]
    retention_days: int
    failure: str
    fix: str


FACTS = Path(__file__).parent / "data" / "lumen.yaml"


def _facts() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(FACTS.read_text())
    return data


_DATA = _facts()
SERVICES: tuple[Service, ...] = tuple(
    Service(**{**s, "depends_on": tuple(s["depends_on"])}) for s in _DATA["services"]
)
_HTML_SERVICES = frozenset(_DATA["html_services"])
_TEXT_SERVICES = frozenset(_DATA["text_services"])
POLICIES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    p["file"]: (p["title"], [(x["heading"], x["text"]) for x in p["sections"]])
    for p in _DATA["policies"]
}
HANDBOOK_PAGES: list[tuple[str, list[str]]] = [
    (page["heading"], list(page["paragraphs"])) for page in _DATA["handbook"]
]


def _service_sections(s: Service) -> list[tuple[str, str]]:
    deps = ", ".join(s.depends_on) if s.depends_on else "no other Lumen service"
    return [
        ("Purpose", f"The {s.name} service {s.purpose}. It listens on port {s.port}."),
        (
            "Ownership and on-call",
            f"{s.name} is owned by the {s.team} team. Pages for {s.name} go to the "
            f"{s.team.lower().replace(' ', '-')}-oncall rotation.",
        ),
        (
            "Service level objectives",
            f"The p99 latency objective of {s.name} is {s.p99_ms} milliseconds and its "
            f"availability objective is {s.availability} over thirty days. "
            f"{s.name} keeps its data for {s.retention_days} days.",
        ),
        ("Dependencies", f"{s.name} depends on {deps}."),
        ("Common failures", f"When {s.failure}, {s.fix}."),
    ]


def _markdown(title: str, sections: list[tuple[str, str]]) -> str:
    body = "\n\n".join(f"## {heading}\n\n{text}" for heading, text in sections)
    return f"# {title}\n\n{body}\n"


def _html(title: str, sections: list[tuple[str, str]]) -> str:
    body = "\n".join(f"<h2>{html.escape(h)}</h2>\n<p>{html.escape(t)}</p>" for h, t in sections)
    return (
        f"<!doctype html>\n<html><head><title>{html.escape(title)}</title></head>\n"
        f"<body>\n<nav>Lumen handbook</nav>\n<h1>{html.escape(title)}</h1>\n{body}\n"
        "</body></html>\n"
    )


def _text(title: str, sections: list[tuple[str, str]]) -> str:
    body = "\n\n".join(f"{heading.upper()}\n{text}" for heading, text in sections)
    return f"{title}\n{'=' * len(title)}\n\n{body}\n"


def service_file(s: Service) -> str:
    """The file name of a service's runbook."""
    if s.name in _HTML_SERVICES:
        return f"services/{s.name}.html"
    if s.name in _TEXT_SERVICES:
        return f"services/{s.name}.txt"
    return f"services/{s.name}.md"


def write_handbook_pdf(path: Path) -> None:
    """The on-call handbook: one PDF page per topic (fpdf2, fixed dates: same bytes each time)."""
    from datetime import UTC, datetime

    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))
    pdf.set_title("Lumen on-call handbook")
    for heading, paragraphs in HANDBOOK_PAGES:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(0, 10, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    pdf.output(str(path))


def _fix_fact(s: Service) -> str:
    """The part of a fix an answer must state (its first instruction)."""
    return s.fix.split(";")[0].split(" and ")[0]


def _service_facts(s: Service, section: str) -> tuple[str, list[str]]:
    """The reference answer and key facts of a question about ``section`` of ``s``."""
    deps = list(s.depends_on) or ["no other Lumen service"]
    return {
        "Ownership and on-call": (f"{s.name} is owned by the {s.team} team.", [s.team]),
        "Service level objectives": (
            f"The p99 latency objective of {s.name} is {s.p99_ms} milliseconds.",
            [f"{s.p99_ms} milliseconds"],
        ),
        "Dependencies": (f"{s.name} depends on {', '.join(deps)}.", deps),
        "Common failures": (f"{s.fix[0].upper()}{s.fix[1:]}.", [_fix_fact(s)]),
        "Purpose": (f"The {s.name} service {s.purpose}.", [s.name]),
    }[section]


def questions() -> list[dict[str, object]]:
    """The evaluation set: question, gold source (relative path), gold section or page, a
    reference answer and the key facts a correct answer states."""
    out: list[dict[str, object]] = []
    templates = (
        ("Which team owns {name}?", "Ownership and on-call"),
        ("What is the p99 latency objective of {name}?", "Service level objectives"),
        ("What does {name} depend on?", "Dependencies"),
        ("What should I do when {failure} in {name}?", "Common failures"),
    )
    by_file = {service_file(s): s for s in SERVICES}
    for i, s in enumerate(SERVICES):
        template, section = templates[i % len(templates)]
        question = template.format(name=s.name, failure=s.failure)
        answer, facts = _service_facts(s, section)
        out.append({"question": question, "source": service_file(s), "section": section,
                    "answer": answer, "facts": facts})  # fmt: skip
        # A paraphrase without the service's name: only its meaning can find it.
        if i % 2 == 0:
            answer, facts = _service_facts(s, "Purpose")
            out.append(
                {
                    "question": f"Which service {s.purpose.split(' and ')[0]}?",
                    "source": service_file(s),
                    "section": "Purpose",
                    "answer": answer,
                    "facts": facts,
                }
            )
    out += [dict(q) for q in _DATA["policy_questions"]]
    for q in _DATA["paraphrase_questions"]:
        answer, facts = _service_facts(by_file[q["source"]], q["section"])
        out.append({**q, "answer": answer, "facts": facts})
    return out


def hard_questions() -> list[dict[str, object]]:
    """Questions whose answer is not in the chunk that best matches the question.

    - two hops: "Which team owns the first dependency of kestrel?" matches kestrel's
      Dependencies chunk; the answer is in heron's runbook;
    - comparisons: "Which has the lower p99 latency objective, A or B?" needs two runbooks.

    The gold source is the runbook that holds the answer (for the comparison: the winner's).
    """
    by_name = {s.name: s for s in SERVICES}
    out: list[dict[str, object]] = []
    with_deps = [s for s in SERVICES if s.depends_on][:8]
    for s in with_deps:
        dep = by_name[s.depends_on[0]]
        out.append({
            "question": f"Which team owns the first service that {s.name} depends on?",
            "source": service_file(dep), "section": "Ownership and on-call",
            "answer": f"{dep.name}, owned by the {dep.team} team.", "facts": [dep.team],
        })  # fmt: skip
    pairs = [(a, b) for a, b in zip(SERVICES[::2], SERVICES[1::2], strict=False)
             if a.p99_ms != b.p99_ms][:8]  # fmt: skip
    for a, b in pairs:
        fast = a if a.p99_ms < b.p99_ms else b
        out.append({
            "question": f"Which has the lower p99 latency objective, {a.name} or {b.name}?",
            "source": service_file(fast), "section": "Service level objectives",
            "answer": f"{fast.name} ({fast.p99_ms} milliseconds).", "facts": [fast.name],
        })  # fmt: skip
    return out


def write_corpus(dest: Path) -> list[Path]:
    """Write every document and ``questions.yaml`` under ``dest``; return the documents."""
    written: list[Path] = []
    for s in SERVICES:
        path = dest / service_file(s)
        path.parent.mkdir(parents=True, exist_ok=True)
        title = f"{s.name} runbook"
        sections = _service_sections(s)
        if path.suffix == ".html":
            path.write_text(_html(title, sections))
        elif path.suffix == ".txt":
            path.write_text(_text(title, sections))
        else:
            path.write_text(_markdown(title, sections))
        written.append(path)
    for name, (title, sections) in POLICIES.items():
        path = dest / "policies" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            _html(title, sections) if name.endswith(".html") else _markdown(title, sections)
        )
        written.append(path)
    handbook = dest / "handbook" / "oncall-handbook.pdf"
    handbook.parent.mkdir(parents=True, exist_ok=True)
    write_handbook_pdf(handbook)
    written.append(handbook)
    (dest / "questions.yaml").write_text(yaml.safe_dump(questions(), sort_keys=False, width=100))
    (dest / "hard-questions.yaml").write_text(
        yaml.safe_dump(hard_questions(), sort_keys=False, width=100)
    )
    return written
