"""The pipeline end to end into a real MLflow registry (SQLite store)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from e2epipe import registry
from e2epipe.config import Params, Settings
from e2epipe.data import generate, write
from e2epipe.errors import E2epipeError
from e2epipe.pipeline import STAGES, run


@pytest.mark.integration
def test_versions_aliases_and_readiness_tags(trained: Any) -> None:
    found = registry.versions(trained.settings)
    assert [(v["version"], v["ready"], v["aliases"]) for v in found] == [
        ("1", "true", []),
        ("2", "true", ["champion"]),
        ("3", "false", []),
    ]


@pytest.mark.integration
def test_the_champion_loads_and_predicts(trained: Any) -> None:
    from e2epipe.data import FEATURES

    loaded = registry.load(trained.settings)
    assert loaded.version == "2"
    assert loaded.metrics["holdout_roc_auc"] > 0.8
    rows = generate(20, seed=11)[list(FEATURES)]
    proba = loaded.model.predict_proba(rows)[:, 1]
    assert ((proba >= 0) & (proba <= 1)).all()


@pytest.mark.integration
def test_a_corrupt_version_fails_to_load_with_a_clear_error(trained: Any) -> None:
    with pytest.raises(E2epipeError) as caught:
        registry.load(trained.settings, trained.corrupt_version)
    assert "models:/churn-classifier/3 failed to load" in str(caught.value)
    with pytest.raises(E2epipeError, match="has no version 42"):
        registry.load(trained.settings, "42")


@pytest.mark.integration
def test_the_run_logged_params_metrics_and_reports(trained: Any) -> None:
    client = registry.configure(trained.settings)
    version = client.get_model_version(trained.settings.model_name, "2")
    run = client.get_run(version.run_id)
    assert run.data.params["model_family"] in {
        "logistic_regression", "random_forest", "gradient_boosting"
    }  # fmt: skip
    assert run.data.params["features.polynomial_degree"] == "2"
    assert {"holdout_roc_auc", "holdout_f1", "cv_roc_auc", "holdout_p95_latency_ms"} <= set(
        run.data.metrics
    )
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.md", "evaluation.json", "validation.json", "confusion_matrix.png"} <= artifacts
    reports = trained.settings.workdir / "reports"
    evaluation = json.loads((reports / "evaluation.json").read_text())
    assert evaluation["ready"] is False  # the last run (v3) failed its checklist
    assert "Verdict: **NOT READY**" in (reports / "report.md").read_text()


@pytest.mark.integration
def test_a_failed_stage_registers_nothing(tmp_path: Path, trained: Any) -> None:
    bad = generate(300, seed=1)
    bad.loc[:100, "age"] = 7
    path = write(bad, tmp_path / "bad.csv")
    before = len(registry.versions(trained.settings))
    with pytest.raises(E2epipeError) as caught:
        run(path, trained.settings, Params(quick=True))
    assert str(caught.value).startswith("stage validate failed: 101 of 300 rows (34%)")
    assert len(registry.versions(trained.settings)) == before
    rejected = (trained.settings.workdir / "reports" / "rejected.csv").read_text()
    assert rejected.count("age: outside [18, 100]") == 101


@pytest.mark.integration
def test_stages_run_in_order_on_a_fresh_registry(tmp_path: Path) -> None:
    settings = Settings(workdir=tmp_path / "w")
    data = write(generate(600, seed=8), tmp_path / "d.parquet")
    seen: list[str] = []
    result = run(data, settings, Params(quick=True, models=["logistic_regression"]), seen.append)
    assert seen == list(STAGES)
    assert [s.name for s in result.stages] == list(STAGES)
    assert result.version == "1"
    assert result.ready
    assert registry.load(settings).version == "1"
