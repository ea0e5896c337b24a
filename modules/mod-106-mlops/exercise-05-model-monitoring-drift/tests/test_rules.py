"""The shipped alert rules pass their promtool unit tests, and a broken rule fails them."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from driftwatch.rules import RULES_FILE, check_rules, rules_dir, run_rule_tests


def test_rules_are_valid_and_pass_their_unit_tests() -> None:
    assert check_rules().ok, check_rules().output
    result = run_rule_tests()
    assert result.ok, result.output


def test_every_alert_has_a_unit_test_or_a_reason() -> None:
    rules = yaml.safe_load((rules_dir() / RULES_FILE).read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tested = (rules_dir() / "driftwatch.rules.test.yml").read_text()
    untested = {a for a in alerts if f"alertname: {a}" not in tested}
    # Feature drift and late labels are the dataset-drift and missing-values cases per label.
    assert untested <= {"DriftwatchFeatureDrift", "DriftwatchLabelsLate"}


def test_a_broken_threshold_fails_the_unit_tests(tmp_path: Path) -> None:
    for name in ("driftwatch.rules.yml", "driftwatch.rules.test.yml"):
        shutil.copy(rules_dir() / name, tmp_path / name)
    rules = tmp_path / RULES_FILE
    text = rules.read_text()
    assert "> 0.05" in text
    rules.write_text(text.replace("> 0.05", "> 0.5"))  # the accuracy drop would never fire
    result = run_rule_tests(tmp_path)
    assert not result.ok
    assert "DriftwatchAccuracyDrop" in result.output


def test_a_syntax_error_fails_the_check(tmp_path: Path) -> None:
    shutil.copy(rules_dir() / RULES_FILE, tmp_path / RULES_FILE)
    path = tmp_path / RULES_FILE
    path.write_text(
        path.read_text().replace("driftwatch_dataset_drift == 1", "driftwatch_dataset_drift ==")
    )
    assert not check_rules(tmp_path).ok
