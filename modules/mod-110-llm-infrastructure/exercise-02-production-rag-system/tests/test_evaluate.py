"""Answer correctness: reference answers and key facts, on the easy and the hard question set."""

from __future__ import annotations

from pathlib import Path

from ragkit.corpus import SERVICES, hard_questions, questions
from ragkit.evaluate import correctness, facts_stated, load_questions, normalize, token_f1
from ragkit.rag import Rag


def test_normalize_drops_citations_punctuation_and_articles_but_keeps_times() -> None:
    assert normalize("The window is 10:00 to 12:00 UTC [2].") == [
        "window", "is", "10:00", "to", "12:00", "utc"]  # fmt: skip


def test_a_grounded_sentence_from_the_wrong_runbook_is_scored_wrong() -> None:
    kestrel, heron = SERVICES[0], SERVICES[1]
    right = f"{kestrel.name} is owned by the {kestrel.team} team [1]."
    copied_wrong = f"{heron.name} is owned by the {heron.team} team [1]."  # grounded, wrong
    reference = f"{kestrel.name} is owned by the {kestrel.team} team."
    assert facts_stated(right, (kestrel.team,)) == 1.0
    assert facts_stated(copied_wrong, (kestrel.team,)) == 0.0
    assert token_f1(right, reference) == 1.0
    assert token_f1(copied_wrong, reference) < token_f1(right, reference)
    assert token_f1("", reference) == 0.0


def test_every_question_has_a_reference_and_facts() -> None:
    for q in [*questions(), *hard_questions()]:
        assert q["answer"], q
        assert q["facts"], q


def test_the_hard_set_is_harder_and_correctness_names_the_misses(
    corpus_rag: Rag, corpus_dir: Path
) -> None:
    easy = correctness(corpus_rag.retriever, corpus_rag.generator,
                       load_questions(corpus_dir / "questions.yaml"))  # fmt: skip
    hard = correctness(corpus_rag.retriever, corpus_rag.generator,
                       load_questions(corpus_dir / "hard-questions.yaml"))  # fmt: skip
    assert (easy.total, hard.total) == (len(questions()), len(hard_questions()))
    for c in (easy, hard):
        assert 0.0 <= c.f1 <= 1.0
        assert 0.0 <= c.exact <= c.fact_recall <= 1.0
    # Copying the best-matching sentence answers one-hop questions; two hops and
    # comparisons need a chunk the question does not match, and the score says so.
    assert hard.fact_recall < easy.fact_recall
    assert hard.wrong
    assert easy.fact_recall > 0.8
