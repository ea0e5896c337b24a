"""The API's HTTP contract, checked by schemathesis (``--checks all``) against its own OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from ragkit.api import create_app
from ragkit.config import RagSettings
from ragkit.rag import Rag

from aiinfra_shared.testing.apicheck import run_schemathesis

pytestmark = pytest.mark.integration


def test_schemathesis_all_checks_pass(
    tmp_path: Path, embeddings: Embeddings, corpus_dir: Path, asgi_server: Callable[..., Any]
) -> None:
    rag = Rag(RagSettings(data_dir=tmp_path / "index", llm_url=None), embeddings=embeddings)
    rag.ingest([corpus_dir / "runbooks"] if (corpus_dir / "runbooks").is_dir() else [corpus_dir])
    served = asgi_server(create_app(rag))
    junit = run_schemathesis(
        served.url,
        tmp_path,
        max_examples=25,
        # A file's type is in its name (415), its text may be empty or unreadable (422), and a
        # name may be taken by another document (409): rules no JSON Schema can state.
        rejections={"POST /v1/documents": ["409", "415", "422"]},
    )
    for operation in ("POST /v1/query", "POST /v1/documents", "DELETE /v1/documents/{doc_id}"):
        assert operation in junit, f"{operation} was not exercised"
