"""``ragkit demo`` and ``ragkit eval``: the shipped corpus, end to end, in front of a person."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ragkit.corpus import write_corpus
from ragkit.errors import RagkitError
from ragkit.evaluate import (
    Correctness,
    ModeScores,
    as_rows,
    correctness,
    evaluate,
    faithfulness,
    load_questions,
    plot,
)
from ragkit.rag import Rag
from ragkit.ui import ingest_with_progress, open_rag, print_answer, print_report, rag_settings

#: What the demo asks: a runbook fact, a question in other words, a PDF page with a metadata
#: filter, and one the handbook cannot answer.
DEMO_QUESTIONS: tuple[tuple[str, dict[str, str]], ...] = (
    ("What should I do when consumer lag grows past one million messages in plover?", {}),
    ("Which service answers questions over internal documents?", {}),
    ("Who gets the page if the primary on-call does not acknowledge it?", {"kind": "pdf"}),
    ("What is the boiling point of tungsten?", {}),
)


def print_scores(console: Console, scores: list[ModeScores], questions: int) -> None:
    """The evaluation table."""
    table = Table(title=f"retrieval on {questions} questions (k={scores[0].k})")
    for column in ("mode", "hit@k", "MRR", "nDCG@k", "misses"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for row in as_rows(scores):
        table.add_row(row["mode"], f"{row['hit@k']:.3f}", f"{row['mrr']:.3f}",
                      f"{row['ndcg@k']:.3f}", str(row["misses"]))  # fmt: skip
    console.print(table)


def print_correctness(console: Console, sets: list[tuple[str, Correctness | None]]) -> None:
    """Answer correctness per question set: are the answers right, not just grounded?"""
    table = Table(title="answer correctness (against reference answers)")
    for column in ("question set", "answered", "token F1", "facts stated", "all facts"):
        table.add_column(column, justify="left" if column == "question set" else "right")
    for name, c in sets:
        if c is not None:
            table.add_row(name, f"{c.answered}/{c.total}", f"{c.f1:.3f}",
                          f"{c.fact_recall:.3f}", f"{c.exact:.3f}")  # fmt: skip
    console.print(table)


def score_and_report(console: Console, rag: Rag, questions_file: Path, *, k: int,
                     out: Path) -> list[ModeScores]:  # fmt: skip
    """Evaluate every mode and the answers' citations; print, and write JSON and PNG to out."""
    questions = load_questions(questions_file)
    hard_file = questions_file.with_name("hard-questions.yaml")
    hard = load_questions(hard_file) if hard_file.is_file() else []
    with console.status(f"scoring 3 retrieval modes and {len(questions) + len(hard)} answers"):
        scores = evaluate(rag.retriever, questions, k=k)
        faith = faithfulness(rag.retriever, rag.generator, questions)
        right = correctness(rag.retriever, rag.generator, questions)
        hard_right = correctness(rag.retriever, rag.generator, hard) if hard else None
        hard_scores = evaluate(rag.retriever, hard, k=k) if hard else []
    print_scores(console, scores, len(questions))
    console.print(
        f"answers ({rag.generator.mode}): {faith.answered}/{faith.total} answered; "
        f"{faith.cited_only_retrieved} cite only retrieved chunks; "
        f"{faith.cited_gold} cite the gold passage; {faith.grounded} grounded"
    )
    print_correctness(console, [("questions.yaml", right), ("hard-questions.yaml", hard_right)])
    out.mkdir(parents=True, exist_ok=True)
    png = plot(scores, out / "retrieval.png")
    report = {
        "k": k,
        "questions": len(questions),
        "modes": as_rows(scores),
        "misses": {s.mode: s.misses for s in scores},
        "faithfulness": vars(faith),
        "correctness": vars(right),
        "hard": {
            "questions": len(hard),
            "modes": as_rows(hard_scores),
            "correctness": vars(hard_right) if hard_right else None,
        },
        "generator": rag.generator.mode,
    }
    (out / "eval.json").write_text(json.dumps(report, indent=2))
    console.print(f"plot: {png}\nreport: {out / 'eval.json'}")
    return scores


def run_eval(
    console: Console,
    *,
    k: int,
    out: Path,
    corpus_dir: Path | None = None,
    generator: str | None = None,
    llm_url: str | None = None,
) -> list[ModeScores]:
    """Ingest a corpus into a fresh temporary index and score it on its ``questions.yaml``.

    Raises:
        RagkitError: The corpus has no ``questions.yaml``.
    """
    with tempfile.TemporaryDirectory(prefix="ragkit-eval-") as tmp:
        if corpus_dir is None:
            corpus_dir = Path(tmp) / "corpus"
            write_corpus(corpus_dir)
        questions_file = corpus_dir / "questions.yaml"
        if not questions_file.is_file():
            raise RagkitError(f"{questions_file} not found: a corpus needs its question set")
        rag = open_rag(rag_settings(data_dir=Path(tmp) / "index", collection="eval",
                                     generator=generator, llm_url=llm_url))  # fmt: skip
        print_report(ingest_with_progress(rag, [corpus_dir]))
        return score_and_report(console, rag, questions_file, k=k, out=out)


def run_demo(console: Console, *, workdir: Path, llm_url: str | None = None,
             generator: str | None = None) -> None:  # fmt: skip
    """Ingest the shipped corpus (again: unchanged files are skipped), ask, evaluate."""
    corpus_dir = workdir / "corpus"
    write_corpus(corpus_dir)
    console.rule("ingest")
    rag = open_rag(rag_settings(data_dir=workdir / "index", llm_url=llm_url, generator=generator))
    print_report(ingest_with_progress(rag, [corpus_dir]))
    console.print(f"index: {len(rag.index.docs)} documents, {rag.index.chunk_count()} chunks "
                  f"in {workdir / 'index'}")  # fmt: skip

    console.rule(f"ask ({rag.generator.mode} answers)")
    if rag.generator.mode == "extractive":
        console.print("extractive: sentences copied from the retrieved chunks, no language model "
                      "(--generator smollm2 or --llm-url to use one)", style="dim")  # fmt: skip
    elif rag.generator.mode == "smollm2":
        console.print(
            "smollm2: SmolLM2-135M-Instruct on this CPU; ragkit attributes each sentence to a "
            "retrieved chunk and flags the ones none supports",
            style="dim",
        )
    for question, filters in DEMO_QUESTIONS:
        if filters:
            console.print(f"filter: {filters}", style="dim")
        print_answer(rag.ask(question, filters=filters))
        console.print()

    console.rule("re-ingest: content hashes make it a no-op")
    print_report(rag.ingest([corpus_dir]))

    console.rule("evaluate")
    score_and_report(console, rag, corpus_dir / "questions.yaml", k=5, out=workdir / "eval")
