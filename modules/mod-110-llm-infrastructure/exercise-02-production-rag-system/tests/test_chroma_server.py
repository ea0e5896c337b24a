"""ragkit against a real Chroma server, as deployed: two API replicas share one database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from langchain_core.embeddings import Embeddings
from ragkit.api import create_app
from ragkit.chroma_server import chroma_server
from ragkit.config import RagSettings
from ragkit.errors import RagkitError
from ragkit.rag import Rag

from aiinfra_shared.services import RunningService
from aiinfra_shared.services.base import free_port

RUNBOOK = b"# Gannet runbook\n## Purpose\nThe gannet service compacts audit logs every night.\n"


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[RunningService]:
    with chroma_server(tmp_path / "chroma") as service:
        yield service


def _replica(url: str, tmp_path: Path, name: str, embeddings: Embeddings) -> Rag:
    settings = RagSettings(chroma_url=url, data_dir=tmp_path / name, llm_url=None)
    return Rag(settings, embeddings=embeddings)


def test_replicas_share_documents_through_the_server(
    chroma: RunningService, tmp_path: Path, embeddings: Embeddings, corpus_dir: Path
) -> None:
    a = _replica(chroma.url, tmp_path, "a", embeddings)
    b = _replica(chroma.url, tmp_path, "b", embeddings)
    assert a.ingest([corpus_dir / "policies"]).added
    assert {d["source"] for d in b.documents()} == {d["source"] for d in a.documents()}
    answer = b.ask("How many GPUs does a team get by default?")
    assert answer.citations[0]["source"] == "gpu-quota.html"

    api_b = TestClient(create_app(b))
    assert api_b.post("/v1/documents", files={"file": ("gannet.md", RUNBOOK)}).status_code == 201
    # a's BM25 index notices b's write and rebuilds.
    hits = a.retriever.search("what does gannet compact?", mode="sparse")
    assert hits[0].doc.metadata["source"] == "gannet.md"
    changed = RUNBOOK.replace(b"audit logs", b"billing events")
    assert (
        api_b.post(
            "/v1/documents", files={"file": ("gannet.md", changed)}, params={"replace": "true"}
        ).json()["outcome"]
        == "replaced"
    )
    assert "billing events" in a.ask("What does gannet compact?").answer

    doc_id = next(d["doc_id"] for d in a.documents() if d["source"] == "gannet.md")
    a.delete(doc_id)
    assert "gannet.md" not in {d["source"] for d in b.documents()}
    assert all(h.doc.metadata["source"] != "gannet.md"
               for h in b.retriever.search("gannet compacts", k=20))  # fmt: skip


def test_documents_survive_a_server_restart(
    tmp_path: Path, embeddings: Embeddings, corpus_dir: Path
) -> None:
    port = free_port()
    with chroma_server(tmp_path / "db", port=port) as service:
        _replica(service.url, tmp_path, "a", embeddings).ingest([corpus_dir / "handbook"])
    with chroma_server(tmp_path / "db", port=port) as service:
        again = _replica(service.url, tmp_path, "b", embeddings)
        assert [d["source"] for d in again.documents()] == ["oncall-handbook.pdf"]
        assert again.ingest([corpus_dir / "handbook"]).unchanged == ["oncall-handbook.pdf"]
        assert again.ask("When is a postmortem due?").citations[0]["page"] == 3


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path, embeddings: Embeddings) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RagkitError, match=f"no Chroma server at {url}"):
        _replica(url, tmp_path, "a", embeddings)
