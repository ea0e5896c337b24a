from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ragkit import api as api_module
from ragkit.api import create_app
from ragkit.rag import Rag

RUNBOOK = b"# Gannet runbook\n## Purpose\nThe gannet service compacts audit logs every night.\n"


@pytest.fixture
def client(rag: Rag) -> TestClient:
    return TestClient(create_app(rag))


@pytest.fixture
def corpus_client(corpus_rag: Rag) -> TestClient:
    return TestClient(create_app(corpus_rag))


def _upload(
    client: TestClient, name: str, data: bytes, *, path: str | None = None, replace: bool = False
) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = client.post(
        "/v1/documents",
        files={"file": (name, data)},
        data={"path": path} if path is not None else None,
        params={"replace": "true"} if replace else None,
    )
    return response.status_code, response.json()


def test_upload_is_idempotent_and_a_change_replaces(client: TestClient) -> None:
    code, body = _upload(client, "gannet.md", RUNBOOK)
    assert code == 201
    assert body["outcome"] == "added"
    assert body["chunks_written"] >= 1
    doc_id = body["document"]["doc_id"]
    code, again = _upload(client, "gannet.md", RUNBOOK)
    assert (code, again["outcome"]) == (200, "unchanged")
    changed = RUNBOOK.replace(b"audit logs", b"billing events")
    code, body = _upload(client, "gannet.md", changed)  # another file with the same name
    assert code == 409, body
    assert "send a path to keep both" in body["detail"]
    code, body = _upload(client, "gannet.md", changed, replace=True)
    assert body["outcome"] == "replaced"
    assert body["document"]["doc_id"] == doc_id
    listed = client.get("/v1/documents").json()
    assert listed["count"] == 1
    assert listed["documents"][0]["source"] == "gannet.md"
    answer = client.post("/v1/query", json={"question": "What does gannet compact?"}).json()
    assert "billing events" in answer["answer"]


def test_two_files_with_one_name_stay_two_documents_with_paths(client: TestClient) -> None:
    first = _upload(client, "README.md", RUNBOOK, path="gannet/README.md")
    second = _upload(client, "README.md", b"# Heron\nHeron routes alerts to the pager.\n",
                     path="heron/README.md")  # fmt: skip
    assert (first[0], second[0]) == (201, 201)
    assert first[1]["document"]["doc_id"] != second[1]["document"]["doc_id"]
    sources = sorted(d["source"] for d in client.get("/v1/documents").json()["documents"])
    assert sources == ["gannet/README.md", "heron/README.md"]
    answer = client.post(
        "/v1/query", json={"question": "What does heron route?",
                           "filters": {"source": "heron/README.md"}},
    ).json()  # fmt: skip
    assert "alerts" in answer["answer"]


@pytest.mark.parametrize(
    ("path", "detail"),
    [("/etc/README.md", "relative path"), ("a/../../README.md", "relative path"),
     ("a/README.txt", "must end with the file's suffix"), ("../README.md", "relative path")],
)  # fmt: skip
def test_bad_upload_paths_are_refused(client: TestClient, path: str, detail: str) -> None:
    code, body = _upload(client, "README.md", RUNBOOK, path=path)
    assert code == 422, body
    assert detail in str(body["detail"])
    assert client.get("/v1/documents").json()["count"] == 0


def test_folder_parts_of_an_upload_name_are_dropped(client: TestClient) -> None:
    code, body = _upload(client, "../../etc/gannet.md", RUNBOOK)
    assert code == 201
    assert body["document"]["source"] == "gannet.md"


@pytest.mark.parametrize(
    ("name", "data", "code", "detail"),
    [
        ("tool.exe", b"MZ", 415, "unsupported file type '.exe'"),
        ("broken.pdf", b"%PDF-1.4 garbage", 422, "cannot parse"),
        ("empty.md", b"\n\n", 422, "no text found"),
        ("", b"text", 422, ""),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_lost(
    client: TestClient, name: str, data: bytes, code: int, detail: str
) -> None:
    assert _upload(client, "gannet.md", RUNBOOK)[0] == 201
    got, body = _upload(client, name, data)
    assert got == code, body
    assert detail in str(body["detail"])
    assert [d["source"] for d in client.get("/v1/documents").json()["documents"]] == ["gannet.md"]


def test_an_upload_that_is_too_large_gets_413(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_module, "MAX_UPLOAD_BYTES", 64)
    assert _upload(client, "big.md", b"x" * 65)[0] == 413
    assert client.get("/v1/documents").json()["count"] == 0


def test_delete_removes_the_document_and_unknown_ids_get_404(client: TestClient) -> None:
    doc_id = _upload(client, "gannet.md", RUNBOOK)[1]["document"]["doc_id"]
    assert client.delete("/v1/documents/nope").status_code == 404
    deleted = client.delete(f"/v1/documents/{doc_id}")
    assert deleted.status_code == 200
    assert deleted.json()["source"] == "gannet.md"
    assert client.get("/v1/documents").json()["count"] == 0
    answer = client.post("/v1/query", json={"question": "What does gannet compact?"}).json()
    assert not answer["answered"]
    assert answer["citations"] == []


def test_query_returns_answer_citations_scores_and_latency(corpus_client: TestClient) -> None:
    response = corpus_client.post(
        "/v1/query", json={"question": "How many GPUs does a team get by default?", "k": 3}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["answered"]
    assert body["generator"] == "extractive"
    assert body["citations"][0]["source"] == "policies/gpu-quota.html"
    assert len(body["retrieved"]) == 3
    assert all(0 <= r["similarity"] <= 1 for r in body["retrieved"])
    assert set(body["latency_ms"]) == {"retrieve", "rerank", "generate", "total"}


def test_query_filters_by_metadata(corpus_client: TestClient) -> None:
    body = corpus_client.post(
        "/v1/query", json={"question": "severity", "filters": {"kind": "pdf", "page": 1}}
    ).json()
    assert body["retrieved"]
    assert {r["page"] for r in body["retrieved"]} == {1}


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"question": ""},
        {"question": "x" * 2001},
        {"question": "ok?", "mode": "fuzzy"},
        {"question": "ok?", "k": 0},
        {"question": "ok?", "k": 21},
        {"question": "ok?", "filters": {"colour": "red"}},
        {"question": "   "},
        {"question": "ok?", "filters": {"page": "1"}},  # a string would match nothing
        {"question": "ok?", "filters": {"page": 0}},
        {"question": "ok?", "filters": {"kind": "docx"}},
        {"question": "ok?", "filters": {"source": 3}},
        {"question": "ok?", "rerank": 0},
        {"question": "ok?", "mmr": "yes"},
        {"question": "ok?", "k": 2.5},
        {"question": "ok?", "k": "3"},
        {"question": "ok?", "colour": "red"},
    ],
)
def test_bad_queries_get_422(corpus_client: TestClient, payload: dict) -> None:  # type: ignore[type-arg]
    assert corpus_client.post("/v1/query", json=payload).status_code == 422


def test_metrics_count_answers_and_time_each_stage(corpus_client: TestClient) -> None:
    corpus_client.post("/v1/query", json={"question": "Which team owns heron?"})
    corpus_client.post("/v1/query", json={"question": "What is the boiling point of tungsten?"})
    text = corpus_client.get("/metrics").text
    assert 'ragkit_answers_total{answered="true"} 1.0' in text
    assert 'ragkit_answers_total{answered="false"} 1.0' in text
    assert 'ragkit_query_stage_seconds_count{stage="retrieve"} 2.0' in text
    assert "ragkit_index_documents 29.0" in text
    assert 'ragkit_http_requests_total{method="POST",route="/v1/query",status="200"} 2.0' in text


def test_health_and_readiness(corpus_client: TestClient) -> None:
    assert corpus_client.get("/healthz").json() == {"status": "ok"}
    ready = corpus_client.get("/readyz").json()
    assert ready["documents"] == 29
    assert ready["generator"] == "extractive"


def test_openapi_documents_the_routes(corpus_client: TestClient, tmp_path: Path) -> None:
    paths = corpus_client.get("/openapi.json").json()["paths"]
    assert {"/v1/query", "/v1/documents", "/v1/documents/{doc_id}"} <= set(paths)
