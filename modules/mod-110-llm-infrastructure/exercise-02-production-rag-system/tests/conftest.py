from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings
from ragkit.config import RagSettings
from ragkit.corpus import write_corpus
from ragkit.index import embedding_model
from ragkit.rag import Rag


@pytest.fixture(scope="session")
def embeddings() -> Embeddings:
    """The real all-MiniLM-L6-v2, loaded once for the whole session (it takes seconds)."""
    return embedding_model()


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped corpus, written once."""
    dest = tmp_path_factory.mktemp("corpus")
    write_corpus(dest)
    return dest


@pytest.fixture(scope="session")
def corpus_rag(
    tmp_path_factory: pytest.TempPathFactory, embeddings: Embeddings, corpus_dir: Path
) -> Rag:
    """A persistent index of the whole shipped corpus. Read-only: tests must not change it."""
    settings = RagSettings(data_dir=tmp_path_factory.mktemp("corpus-index"), llm_url=None)
    rag = Rag(settings, embeddings=embeddings)
    report = rag.ingest([corpus_dir])
    assert not report.failed, report.failed
    return rag


@pytest.fixture
def settings(tmp_path: Path) -> RagSettings:
    """Settings of a fresh, empty index in this test's temporary folder."""
    return RagSettings(data_dir=tmp_path / "index", llm_url=None)


@pytest.fixture
def rag(settings: RagSettings, embeddings: Embeddings) -> Rag:
    """A fresh, empty index with the session's model."""
    return Rag(settings, embeddings=embeddings)
