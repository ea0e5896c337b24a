from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from langchain_core.embeddings import Embeddings
from ragkit.cli import app
from ragkit.errors import RagkitError
from typer.testing import CliRunner

runner = CliRunner()


def ragkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess (for exit codes and stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "ragkit", *args],
        capture_output=True, text=True, timeout=300,
        env=os.environ | {"PYTHONDONTWRITEBYTECODE": "", "COLUMNS": "150"} | (env or {}),
    )  # fmt: skip


@pytest.fixture
def data_dir(tmp_path: Path, embeddings: Embeddings) -> str:
    """An empty index folder (the session's model is already loaded in this process)."""
    return str(tmp_path / "index")


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("corpus", "ingest", "docs", "delete", "query", "eval", "serve", "demo"):
        assert command in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "x", "--where", "colour=red"], "bad filter 'colour=red'"),
        (["query", "x", "--mode", "fuzzy"], "unknown mode 'fuzzy'"),
        (["delete", "0123"], "no document with id '0123'"),
    ],
)
def test_user_mistakes_are_one_line_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = ragkit(*args, env={"RAGKIT_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_ingest_query_docs_delete(data_dir: str, corpus_dir: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    result = runner.invoke(app, ["ingest", str(corpus_dir / "policies"), str(extra),
                                 "--data-dir", data_dir])  # fmt: skip
    assert result.exit_code == 1  # one file was skipped ...
    assert "added 4, replaced 0, unchanged 0, failed 1" in result.output
    assert "skipped broken.pdf" in result.output  # ... and said why

    result = runner.invoke(app, ["docs", "--json", "--data-dir", data_dir])
    docs = json.loads(result.output)
    assert sorted(d["source"] for d in docs)[0] == "change-management.md"

    result = runner.invoke(app, ["query", "When are the production change windows?", "--json",
                                 "--data-dir", data_dir])  # fmt: skip
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["citations"][0]["source"] == "change-management.md"

    doc_id = next(d["doc_id"] for d in docs if d["source"] == "change-management.md")
    result = runner.invoke(app, ["delete", doc_id, "--data-dir", data_dir])
    assert "deleted change-management.md" in result.output
    result = runner.invoke(app, ["docs", "--json", "--data-dir", data_dir])
    assert len(json.loads(result.output)) == 3


def test_query_on_an_empty_index_says_what_to_do(data_dir: str) -> None:
    result = runner.invoke(app, ["query", "anything?", "--data-dir", data_dir])
    assert isinstance(result.exception, RagkitError)
    assert "ragkit ingest" in str(result.exception)


def test_corpus_writes_documents_and_questions(tmp_path: Path) -> None:
    result = runner.invoke(app, ["corpus", str(tmp_path / "c")])
    assert result.exit_code == 0
    assert (tmp_path / "c" / "questions.yaml").is_file()
    assert (tmp_path / "c" / "handbook" / "oncall-handbook.pdf").is_file()


def test_eval_writes_a_report_and_a_plot(
    embeddings: Embeddings, corpus_dir: Path, tmp_path: Path
) -> None:
    # A small corpus with its own question set, to keep the test short.
    small = tmp_path / "small"
    shutil.copytree(corpus_dir / "policies", small / "policies")
    questions = yaml.safe_load((corpus_dir / "questions.yaml").read_text())
    mine = [q for q in questions if q["source"].startswith("policies/")]
    (small / "questions.yaml").write_text(yaml.safe_dump(mine))
    result = runner.invoke(
        app, ["eval", "--out", str(tmp_path / "out"), "--corpus", str(small), "-k", "3"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "eval.json").read_text())
    assert report["k"] == 3
    assert report["questions"] == len(mine) == 5
    assert [m["mode"] for m in report["modes"]] == ["dense", "sparse", "hybrid"]
    assert all(0 <= m["mrr"] <= m["hit@k"] <= 1 for m in report["modes"])
    assert report["faithfulness"]["cited_only_retrieved"] == report["faithfulness"]["answered"]
    assert (tmp_path / "out" / "retrieval.png").read_bytes()[:4] == b"\x89PNG"
    assert "added 4, replaced 0, unchanged 0, failed 0" in result.output


def test_eval_needs_a_question_set(embeddings: Embeddings, tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "--corpus", str(tmp_path)])
    assert isinstance(result.exception, RagkitError)
    assert "questions.yaml" in str(result.exception)


def test_demo_ingests_answers_reingests_nothing_and_evaluates(
    embeddings: Embeddings, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["demo", "--workdir", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "added 29, replaced 0, unchanged 0, failed 0" in out
    assert "added 0, replaced 0, unchanged 29, failed 0; 0 chunks written" in out
    assert "I don't know" in out  # the off-topic question
    assert "[1] services/plover.html > Common failures" in out
    assert "retrieval on" in out
    assert (tmp_path / "eval" / "retrieval.png").is_file()
