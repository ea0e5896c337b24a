"""The ML alert rules: promtool's unit tests pass, and notice a broken rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from aiinfra_shared.services.prometheus import run_promtool

RULES = Path(__file__).resolve().parents[1] / "rules"


def test_promtool_checks_and_unit_tests_pass() -> None:
    assert run_promtool("check", "rules", str(RULES / "ml-alerts.yml")).ok
    done = run_promtool("test", "rules", "ml-alerts.test.yml", cwd=RULES / "tests")
    assert done.ok, done.output


def test_the_unit_tests_catch_a_loosened_threshold(tmp_path: Path) -> None:
    data = yaml.safe_load((RULES / "ml-alerts.yml").read_text())
    for group in data["groups"]:
        for rule in group["rules"]:
            if rule["alert"] == "ModelAccuracyLow":
                rule["expr"] = "ml_model_accuracy < 0.5"
    (tmp_path / "ml-alerts.yml").write_text(yaml.safe_dump(data))
    (tmp_path / "tests").mkdir()
    shutil.copy(RULES / "tests" / "ml-alerts.test.yml", tmp_path / "tests")
    done = run_promtool("test", "rules", "ml-alerts.test.yml", cwd=tmp_path / "tests")
    assert not done.ok
    assert "accuracy under the floor" in done.output


def test_every_alert_routes_and_correlates() -> None:
    data = yaml.safe_load((RULES / "ml-alerts.yml").read_text())
    for group in data["groups"]:
        for rule in group["rules"]:
            labels = rule["labels"]
            assert labels["severity"] in {"page", "warning"}, rule["alert"]
            # team from the rule, or kept from the series by the aggregation
            assert "team" in labels or "by (service, team)" in rule["expr"], rule["alert"]
