from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from ragkit.corpus import SERVICES, questions, write_corpus
from ragkit.loaders import load


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_corpus_is_byte_for_byte_deterministic(tmp_path: Path, corpus_dir: Path) -> None:
    write_corpus(tmp_path)
    assert _digests(tmp_path) == _digests(corpus_dir)


def test_corpus_mixes_every_supported_format(corpus_dir: Path) -> None:
    suffixes = {p.suffix for p in corpus_dir.rglob("*") if p.is_file()}
    assert {".md", ".html", ".txt", ".pdf", ".yaml"} <= suffixes
    assert len([p for p in corpus_dir.rglob("*") if p.is_file()]) >= len(SERVICES) + 5


def test_every_question_points_at_a_passage_that_exists(corpus_dir: Path) -> None:
    shipped = yaml.safe_load((corpus_dir / "questions.yaml").read_text())
    assert shipped == questions()
    assert len(shipped) >= 40
    for q in shipped:
        sections = load(corpus_dir / q["source"])
        if "page" in q:
            assert q["page"] in {s.page for s in sections}, q
        else:
            assert q["section"].lower() in {s.heading.lower() for s in sections}, q
