from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings
from ragkit.config import RagSettings
from ragkit.errors import RagkitError, UnknownDocumentError
from ragkit.index import Index, NoEmbeddings
from ragkit.rag import Rag

RUNBOOK = "# Gannet runbook\n## Purpose\nThe gannet service compacts audit logs every night.\n"


def _chroma_count(rag: Rag) -> int:
    return len(rag.index.vectors.get()["ids"])


def _texts(rag: Rag) -> str:
    return "\n".join(c.page_content for c in rag.index.all_chunks())


def test_chunks_carry_source_kind_section_and_page(rag: Rag, corpus_dir: Path) -> None:
    report = rag.ingest([corpus_dir / "handbook", corpus_dir / "services" / "heron.html"])
    assert report.added == ["oncall-handbook.pdf", "heron.html"]
    chunks = rag.index.all_chunks()
    pdf = [c for c in chunks if c.metadata["kind"] == "pdf"]
    assert {c.metadata["page"] for c in pdf} == {1, 2, 3}
    html = [c for c in chunks if c.metadata["source"] == "heron.html"]
    assert {c.metadata["section"] for c in html} >= {"Purpose", "Dependencies"}
    assert all(c.page_content.startswith("[heron.html > ") for c in html)
    assert all(len(c.page_content) <= rag.settings.chunk_size + 80 for c in chunks)


def test_reingesting_the_same_bytes_adds_nothing(corpus_rag: Rag, corpus_dir: Path) -> None:
    count = _chroma_count(corpus_rag)
    again = corpus_rag.ingest([corpus_dir])
    assert again.added == again.replaced == again.failed == []
    assert len(again.unchanged) == len(corpus_rag.documents()) == 29
    assert again.chunks_written == 0
    assert _chroma_count(corpus_rag) == count == corpus_rag.index.chunk_count()


def test_a_changed_file_replaces_its_old_chunks(rag: Rag, tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "gannet.md"
    doc.parent.mkdir()
    doc.write_text(RUNBOOK)
    rag.ingest([doc.parent])
    doc.write_text(RUNBOOK.replace("audit logs every night", "billing events every hour"))
    report = rag.ingest([doc.parent])
    assert report.replaced == ["gannet.md"]
    assert "billing events every hour" in _texts(rag)
    assert "audit logs" not in _texts(rag)
    assert _chroma_count(rag) == rag.index.chunk_count()
    hits = rag.retriever.search("what does gannet compact?", mode="sparse")
    assert "billing" in hits[0].doc.page_content


def test_a_file_that_became_corrupt_keeps_its_last_good_version(rag: Rag, tmp_path: Path) -> None:
    doc = tmp_path / "gannet.md"
    doc.write_text(RUNBOOK)
    rag.ingest([doc])
    before = rag.index.all_chunks()
    doc.write_bytes(b"\xff\xfe not utf-8 \xff")
    report = rag.ingest([doc])
    assert report.failed == [("gannet.md", "gannet.md: not UTF-8 text")]
    assert rag.index.all_chunks() == before


def test_bad_files_in_a_folder_are_reported_and_the_rest_ingested(
    rag: Rag, tmp_path: Path, corpus_dir: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text(RUNBOOK)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (folder / "tool.exe").write_bytes(b"MZ")
    report = rag.ingest([folder, tmp_path / "missing"])
    assert report.added == ["good.md"]
    assert [source for source, _ in report.failed] == [str(tmp_path / "missing"), "broken.pdf",
                                                         "tool.exe"]  # fmt: skip
    reasons = dict(report.failed)
    assert "cannot parse" in reasons["broken.pdf"]
    assert "unsupported file type '.exe'" in reasons["tool.exe"]
    assert [d["source"] for d in rag.documents()] == ["good.md"]


def test_delete_removes_every_chunk_from_both_retrievers(rag: Rag, corpus_dir: Path) -> None:
    rag.ingest([corpus_dir / "services"])
    doc_id = next(d["doc_id"] for d in rag.documents() if d["source"] == "plover.html")
    question = "What should I do when consumer lag grows in plover?"
    assert rag.retriever.search(question, mode="sparse")[0].doc.metadata["source"] == "plover.html"
    record = rag.delete(doc_id)
    assert record.source == "plover.html"
    for mode in ("dense", "sparse", "hybrid"):
        hits = rag.retriever.search(question, mode=mode, k=20)  # type: ignore[arg-type]
        assert all(h.doc.metadata["source"] != "plover.html" for h in hits), mode
    assert _chroma_count(rag) == rag.index.chunk_count()
    with pytest.raises(UnknownDocumentError, match="no document with id"):
        rag.delete(doc_id)


def test_the_index_survives_a_restart(
    settings: RagSettings, embeddings: Embeddings, corpus_dir: Path
) -> None:
    Rag(settings, embeddings=embeddings).ingest([corpus_dir / "policies"])
    reopened = Rag(settings, embeddings=embeddings)
    assert sorted(d["source"] for d in reopened.documents()) == [
        "change-management.md", "data-retention.md", "gpu-quota.html", "model-promotion.html",
    ]  # fmt: skip
    answer = reopened.ask("How many GPUs does a team get by default?")
    assert answer.citations[0]["source"] == "gpu-quota.html"
    assert reopened.ingest([corpus_dir / "policies"]).unchanged


def test_listing_needs_no_model_and_refuses_to_embed(settings: RagSettings) -> None:
    index = Index(settings, NoEmbeddings())
    assert index.docs == {}
    with pytest.raises(RagkitError, match="without an embedding model"):
        index.embeddings.embed_query("x")
