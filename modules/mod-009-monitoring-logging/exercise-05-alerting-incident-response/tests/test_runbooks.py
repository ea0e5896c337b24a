"""Runbooks: dry run touches nothing, risky steps wait for approval, checks can fail; against
a real Prometheus and a real HTTP endpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from incidents.runbooks import Runbook, RunbookError, Runner, load, load_dir

from aiinfra_shared.services import RunningService

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "runbooks"


def book(**overrides: Any) -> Runbook:
    data = {
        "name": "fix",
        "match": {"alertname": "ModelAccuracyLow"},
        "steps": [
            {
                "name": "value",
                "action": "prometheus_query",
                "query": "vector({{ labels.value }})",
                "expect": {"op": "<", "value": 0.85},
            },
            {
                "name": "rollback",
                "action": "http",
                "method": "POST",
                "url": "{{ vars.base }}/rollback",
                "risky": True,
            },
            {"name": "after", "action": "http", "url": "{{ vars.base }}/health"},
        ],
    }
    data.update(overrides)
    return Runbook.model_validate(data)


@pytest.fixture
def endpoint(asgi_server: Callable[..., Any]) -> tuple[str, list[str]]:
    calls: list[str] = []
    app = FastAPI()

    @app.post("/rollback")
    def rollback() -> dict[str, bool]:
        calls.append("rollback")
        return {"ok": True}

    @app.get("/health")
    def health() -> dict[str, bool]:
        calls.append("health")
        return {"ok": True}

    return asgi_server(app).url, calls


@pytest.mark.integration
def test_dry_run_renders_and_touches_nothing(
    prometheus_service: RunningService, endpoint: Any
) -> None:
    url, calls = endpoint
    result = Runner(prometheus_service.url, {"base": url}).run(
        book(), {"value": "0.7"}, dry_run=True
    )
    assert result.status == "dry_run"
    assert [s.status for s in result.steps] == ["dry_run"] * 3
    assert result.steps[0].detail == "would run: vector(0.7)"
    assert "needs approval" in result.steps[1].detail
    assert calls == []


@pytest.mark.integration
def test_a_risky_step_waits_for_its_approval(
    prometheus_service: RunningService, endpoint: Any
) -> None:
    url, calls = endpoint
    runner = Runner(prometheus_service.url, {"base": url})
    waiting = runner.run(book(), {"value": "0.7"})
    assert waiting.status == "awaiting_approval"
    assert [s.status for s in waiting.steps] == ["ok", "awaiting_approval", "skipped"]
    assert waiting.steps[0].detail == "vector(0.7) = 0.7 (expected < 0.85)"
    assert calls == []
    done = runner.run(book(), {"value": "0.7"}, approved={"rollback"})
    assert done.status == "succeeded"
    assert calls == ["rollback", "health"]


@pytest.mark.integration
def test_a_failed_check_stops_the_run(prometheus_service: RunningService, endpoint: Any) -> None:
    url, calls = endpoint
    result = Runner(prometheus_service.url, {"base": url}).run(
        book(), {"value": "0.9"}, approved={"rollback"}
    )
    assert result.status == "failed"
    assert [s.status for s in result.steps] == ["failed", "skipped", "skipped"]
    assert calls == []
    bad = Runner(prometheus_service.url, {"base": url}).run(
        book(steps=[{"name": "q", "action": "prometheus_query", "query": "sum("}]), {}
    )
    assert bad.status == "failed"
    assert "refused" in bad.steps[0].detail


def test_a_missing_template_value_fails_the_step_not_the_service() -> None:
    result = Runner(None, {}).run(book(), {})  # no labels.value
    assert result.status == "failed"
    assert "labels" in result.steps[0].detail or "value" in result.steps[0].detail


def test_the_shipped_runbooks_load() -> None:
    books = load_dir(EXAMPLES)
    assert set(books) == {"model-quality-drop", "pipeline-stale"}
    assert books["model-quality-drop"].matches({"alertname": "ModelAccuracyLow", "x": "y"})
    assert any(s.risky for s in books["model-quality-drop"].steps)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Bad Name", "steps": [{"name": "w", "action": "wait", "seconds": 1}]}, "name"),
        ({"name": "x", "steps": []}, "steps"),
        ({"name": "x", "steps": [{"name": "q", "action": "prometheus_query"}]}, "needs 'query'"),
        ({"name": "x", "steps": [{"name": "h", "action": "http"}]}, "needs 'url'"),
        ({"name": "x", "steps": [{"name": "s", "action": "shell", "cmd": "rm -rf /"}]}, "action"),
        ({"name": "x", "steps": [{"name": "w", "action": "wait", "seconds": 1}] * 2}, "unique"),
    ],
)
def test_invalid_runbooks_are_refused(tmp_path: Path, data: dict[str, Any], message: str) -> None:
    path = tmp_path / "r.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RunbookError, match=message):
        load(path)
