from __future__ import annotations

from ragkit.generate import IDK, ExtractiveGenerator, cited, format_context
from ragkit.pipeline import ask
from ragkit.rag import Rag
from ragkit.retrieval import Hit


class Recording:
    """A generator that records its calls and answers with fixed text."""

    mode = "recording"
    citation_method = "model"

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls: list[tuple[str, list[Hit]]] = []

    def answer(self, question: str, hits: list[Hit]) -> str:
        self.calls.append((question, hits))
        return self.text


def test_an_answer_cites_the_retrieved_gold_passage(corpus_rag: Rag) -> None:
    answer = corpus_rag.ask("What is the p99 latency objective of heron?")
    assert answer.answered
    assert answer.mode == "extractive"
    assert "120 milliseconds" in answer.answer
    assert answer.citations[0]["source"] == "services/heron.html"
    assert answer.citations[0]["section"] == "Service level objectives"
    assert answer.dropped_citations == []
    assert set(answer.latency_ms) == {"retrieve", "rerank", "generate", "total"}
    assert answer.latency_ms["total"] >= answer.latency_ms["retrieve"]
    assert answer.grounded
    body = answer.as_dict()
    assert body["citation_method"] == "copied"
    assert body["grounded"] is True
    assert len(body["retrieved"]) == corpus_rag.settings.k
    assert body["citations"][0]["chunk_id"] in {r["chunk_id"] for r in body["retrieved"]}


def test_low_confidence_says_i_dont_know_without_calling_the_generator(corpus_rag: Rag) -> None:
    generator = Recording("made up [1]")
    answer = ask(corpus_rag.retriever, generator, "What is the boiling point of tungsten?")
    assert generator.calls == []
    assert answer.answer == IDK
    assert not answer.answered
    assert answer.confidence < corpus_rag.settings.min_similarity
    assert answer.citations == []
    assert answer.grounded is None  # nothing was claimed


def test_a_generator_that_declines_is_not_answered(corpus_rag: Rag) -> None:
    answer = ask(corpus_rag.retriever, Recording(IDK), "Which team owns heron?")
    assert not answer.answered
    assert answer.citations == []


def test_citations_outside_the_context_are_dropped(corpus_rag: Rag) -> None:
    generator = Recording("Heron is owned by Model Registry [1]. It also flies [9].")
    answer = ask(corpus_rag.retriever, generator, "Which team owns heron?", k=3)
    ((question, hits),) = generator.calls
    assert question == "Which team owns heron?"
    assert len(hits) == 3
    assert [c["n"] for c in answer.citations] == [1]
    assert answer.dropped_citations == [9]


def test_filters_reach_the_answer(corpus_rag: Rag) -> None:
    answer = corpus_rag.ask("When is a postmortem due?", filters={"kind": "pdf"})
    assert answer.citations
    assert all(c["page"] == 3 for c in answer.citations)
    assert all(h.doc.metadata["kind"] == "pdf" for h in answer.hits)


def test_extractive_answers_only_copy_retrieved_sentences(corpus_rag: Rag) -> None:
    question = "How often must preemptible jobs checkpoint?"
    hits = corpus_rag.retriever.search(question, k=4)
    text = ExtractiveGenerator().answer(question, hits)
    markers = cited(text)
    assert markers
    assert all(1 <= n <= len(hits) for n in markers)
    context = format_context(hits)
    for sentence in text.split(" [")[0:1]:
        assert sentence in context


def test_mmr_and_no_rerank_paths_answer(corpus_rag: Rag) -> None:
    for kwargs in ({"mmr": True}, {"rerank": False}, {"mode": "sparse"}, {"mode": "dense"}):
        answer = corpus_rag.ask("Which team owns tern?", **kwargs)  # type: ignore[arg-type]
        assert answer.answered, kwargs
        assert answer.citations[0]["source"] == "services/tern.md", kwargs


def test_a_made_up_number_makes_the_answer_ungrounded(corpus_rag: Rag) -> None:
    # heron's runbook says 120 milliseconds; the "model" says 40 and cites the right chunk.
    question = "What is the p99 latency objective of heron?"
    hits = corpus_rag.ask(question).hits
    good = next(n for n, h in enumerate(hits, 1) if "120 milliseconds" in h.doc.page_content)
    generator = Recording(f"The p99 latency objective of heron is 40 milliseconds [{good}].")
    answer = ask(corpus_rag.retriever, generator, question)
    assert answer.answered
    assert answer.grounded is False
    assert answer.unsupported == ["The p99 latency objective of heron is 40 milliseconds."]
    assert answer.as_dict()["unsupported_sentences"] == answer.unsupported

    truthful = Recording(f"The p99 latency objective of heron is 120 milliseconds [{good}].")
    assert ask(corpus_rag.retriever, truthful, question).grounded is True
