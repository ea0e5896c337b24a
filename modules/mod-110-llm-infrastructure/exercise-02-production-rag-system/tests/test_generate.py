"""The grounding check and citation attribution, as plain functions on hand-made chunks."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from ragkit.errors import RagkitError
from ragkit.generate import (
    answer_sentences,
    attribute,
    check_grounding,
    make_generator,
    support,
)
from ragkit.retrieval import Hit


def _hits(*texts: str) -> list[Hit]:
    return [Hit(Document(page_content=t, id=f"c{i}"), 1.0) for i, t in enumerate(texts)]


HITS = _hits(
    "[heron.md > Ownership]\nheron is owned by the Model Registry team.",
    "[heron.md > SLO]\nThe p99 latency objective of heron is 120 milliseconds.",
)


@pytest.mark.parametrize(
    "answer",
    ["Owned by Model Registry [1]. It answers in 120 ms [2].",
     "Owned by Model Registry. [1] It answers in 120 ms. [2]",
     "Owned by Model Registry [1]\nIt answers in 120 ms [2]"],
)  # fmt: skip
def test_answers_split_into_sentences_with_their_markers(answer: str) -> None:
    first, second = answer_sentences(answer)
    assert first.startswith("Owned by Model Registry")
    assert "[1]" in first
    assert second.startswith("It answers in 120 ms")
    assert "[2]" in second


def test_support_needs_the_numbers_and_most_content_words() -> None:
    slo = HITS[1]
    assert support("The p99 latency objective of heron is 120 milliseconds.", slo) == 1.0
    assert support("The p99 latency objective of heron is 40 milliseconds.", slo) == 0.0
    assert support("heron is written in Rust and runs on Tuesdays.", slo) < 0.6


def test_a_specific_name_must_be_in_the_supporting_chunk() -> None:
    ibis = _hits("[ibis.md > SLO]\nThe p99 latency objective of ibis is 15 milliseconds.")[0]
    claim = "The p99 latency objective of heron is 15 milliseconds."
    assert support(claim, ibis) > 0.75  # the words and the number are all there ...
    assert support(claim, ibis, specific=frozenset({"heron", "ibis"})) == 0.0  # ... not heron


def test_restating_the_question_does_not_count_as_support() -> None:
    slo = _hits("[plover.md > SLO]\nThe availability objective of plover is 99.9%.")[0]
    question = "What should I do when consumer lag grows in plover?"
    answer = (
        "When consumer lag grows in plover, plover should prioritize its availability objective."
    )
    assert support(answer, slo, question) < 0.75  # adds {prioritize, availability, objective}
    assert support("The availability objective of plover is 99.9%.", slo, question) == 1.0


def test_a_sentence_must_be_supported_by_the_chunk_it_cites() -> None:
    (wrong,) = check_grounding("heron is owned by the Model Registry team [2].", HITS)
    assert wrong.cited == (2,)
    assert wrong.supported_by is None  # chunk 1 says it, but the sentence cites chunk 2
    (right,) = check_grounding("heron is owned by the Model Registry team [1].", HITS)
    assert right.supported_by == 1


def test_an_uncited_sentence_may_be_supported_by_any_chunk() -> None:
    first, second = check_grounding(
        "The p99 latency objective of heron is 120 milliseconds. It is owned by ACME.", HITS
    )
    assert first.cited == ()
    assert first.supported_by == 2
    assert second.supported_by is None


def test_attribution_replaces_the_models_markers_with_supported_ones() -> None:
    text = "[1] [1] [2] heron is owned by the Model Registry team [2]. It also flies south."
    assert attribute(text, HITS) == (
        "heron is owned by the Model Registry team. [1] It also flies south."
    )


def test_generators_by_name() -> None:
    assert make_generator(None).mode == "extractive"
    assert make_generator(None, generator="extractive").citation_method == "copied"
    assert make_generator("http://127.0.0.1:1/v1", generator="smollm2").mode == "llm"
    with pytest.raises(RagkitError, match="unknown generator 'gpt9'"):
        make_generator(None, generator="gpt9")
