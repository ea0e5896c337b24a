from __future__ import annotations

from pathlib import Path

import pytest
from ragkit.errors import RagkitError
from ragkit.evaluate import evaluate, load_questions
from ragkit.rag import Rag
from ragkit.retrieval import Hit, fusion_order, rerank, tokens


def test_tokens_drop_stop_words_and_plural_s() -> None:
    assert tokens("What are the GPUs of the teams?") == ["gpu", "team"]


def test_dense_finds_a_paraphrase(corpus_rag: Rag) -> None:
    # "schedules distributed training jobs on the GPU pool" is osprey's purpose.
    hits = corpus_rag.retriever.dense("which system places multi-node model training runs?", 5)
    assert "services/osprey.md" in {h.doc.metadata["source"] for h in hits}
    assert all(-1.0 <= (h.similarity or 0) <= 1.0 for h in hits)
    assert [h.ranks["dense"] for h in hits] == [1, 2, 3, 4, 5]


def test_sparse_finds_an_exact_rare_term(corpus_rag: Rag) -> None:
    hits = corpus_rag.retriever.sparse("lumenctl drain", 3)
    assert hits[0].doc.metadata["source"] == "services/kestrel.md"
    assert hits[0].score > hits[-1].score > 0


def test_hybrid_score_is_the_reciprocal_rank_fusion_of_both(corpus_rag: Rag) -> None:
    question = "Which team owns heron?"
    rrf_k = corpus_rag.settings.rrf_k
    fused = corpus_rag.retriever.hybrid(question, 10)
    assert fused == sorted(fused, key=fusion_order)
    for hit in fused:
        assert hit.ranks
        assert set(hit.ranks) <= {"dense", "sparse"}
        assert hit.score == pytest.approx(sum(1 / (rrf_k + r) for r in hit.ranks.values()))
    assert any(len(h.ranks) == 2 for h in fused)


def test_ties_in_fusion_go_to_the_best_single_rank_not_the_id() -> None:
    from langchain_core.documents import Document

    a = Hit(Document(page_content="a", id="aaa"), 1 / 61 + 1 / 63, ranks={"dense": 3, "sparse": 1})
    b = Hit(Document(page_content="b", id="bbb"), 1 / 63 + 1 / 61, ranks={"dense": 1, "sparse": 3})
    c = Hit(Document(page_content="c", id="000"), 1 / 62 + 1 / 62, ranks={"dense": 2, "sparse": 2})
    assert a.score == b.score
    # b and a both hold a rank 1; b's is the dense one. c ties neither.
    assert [h.chunk_id for h in sorted([a, c, b], key=fusion_order)] == ["bbb", "aaa", "000"]


def test_filters_restrict_every_mode(corpus_rag: Rag) -> None:
    for mode in ("dense", "sparse", "hybrid"):
        search = corpus_rag.retriever.search
        hits = search("on-call page", mode=mode, k=5, filters={"kind": "pdf"})  # type: ignore[arg-type]
        assert hits, mode
        assert all(h.doc.metadata["kind"] == "pdf" for h in hits), mode
        page = search("postmortem", mode=mode, k=5, filters={"kind": "pdf", "page": 3})  # type: ignore[arg-type]
        assert page, mode
        assert all(h.doc.metadata["page"] == 3 for h in page), mode


def test_mmr_trades_relevance_for_variety(corpus_rag: Rag) -> None:
    question = "What does kestrel do and what does it depend on?"
    plain = corpus_rag.retriever.dense(question, 4)
    diverse = corpus_rag.retriever.mmr(question, 4, lambda_mult=0.3)
    assert len(diverse) == 4

    def sections(hits: list[Hit]) -> int:
        return len({(h.doc.metadata["source"], h.doc.metadata["section"]) for h in hits})

    assert sections(diverse) >= sections(plain)
    assert len({h.chunk_id for h in diverse}) == 4


def test_rerank_puts_the_chunk_that_covers_the_question_first() -> None:
    from langchain_core.documents import Document

    hits = [
        Hit(Document(page_content="heron stores model versions", id="a"), 0.9, 0.40),
        Hit(Document(page_content="heron p99 latency objective is 120 ms", id="b"), 0.1, 0.35),
    ]
    top = rerank("What is the p99 latency objective of heron?", hits, 1)
    assert [h.chunk_id for h in top] == ["b"]


def test_unknown_mode_is_an_error(corpus_rag: Rag) -> None:
    with pytest.raises(RagkitError, match="unknown retrieval mode 'fuzzy'"):
        corpus_rag.retriever.search("x", mode="fuzzy")  # type: ignore[arg-type]


def test_hybrid_beats_the_worst_single_retriever_on_the_shipped_set(
    corpus_rag: Rag, corpus_dir: Path
) -> None:
    questions = load_questions(corpus_dir / "questions.yaml")
    scores = {s.mode: s for s in evaluate(corpus_rag.retriever, questions, k=5)}
    for metric in ("hit_at_k", "mrr", "ndcg_at_k"):
        worst = min(getattr(scores["dense"], metric), getattr(scores["sparse"], metric))
        assert getattr(scores["hybrid"], metric) >= worst, metric
        assert 0.0 <= getattr(scores["hybrid"], metric) <= 1.0
    assert scores["hybrid"].mrr > min(scores["dense"].mrr, scores["sparse"].mrr)
    assert scores["hybrid"].hit_at_k >= 0.9


def test_bm25_finds_matches_in_a_one_chunk_index() -> None:
    """Lucene's IDF stays positive for a term in every chunk (classic BM25's goes negative)."""
    from langchain_core.documents import Document
    from ragkit.retrieval import SparseIndex

    index = SparseIndex([Document(page_content="the gannet service compacts audit logs")])
    assert index.scores(tokens("what does gannet compact?"))[0] > 0
    assert index.scores(tokens("unrelated words"))[0] == 0
    assert index.df == {"gannet": 1, "service": 1, "compact": 1, "audit": 1, "log": 1}


def test_sparse_scores_only_matching_chunks_and_filters_mask_them() -> None:
    from langchain_core.documents import Document
    from ragkit.retrieval import SparseIndex

    chunks = [
        Document(page_content="gannet compacts audit logs", metadata={"kind": "markdown"}),
        Document(page_content="heron stores models", metadata={"kind": "pdf"}),
        Document(page_content="gannet gannet runs nightly", metadata={"kind": "pdf"}),
    ]
    index = SparseIndex(chunks)
    scores = index.scores(tokens("gannet"))
    assert scores[1] == 0
    assert scores[2] > scores[0] > 0  # more occurrences, higher score
    masked = index.scores(tokens("gannet"), {"kind": "markdown"})
    assert masked[0] == scores[0]
    assert masked[2] == 0
