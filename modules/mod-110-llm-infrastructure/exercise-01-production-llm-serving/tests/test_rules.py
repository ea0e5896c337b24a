"""The shipped alert rules pass their promtool unit tests, and a broken threshold fails them."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from aiinfra_shared.services.prometheus import run_promtool

RULES = Path(__file__).parents[1] / "rules"


def test_rules_are_valid_and_pass_their_unit_tests() -> None:
    check = run_promtool("check", "rules", "llmserve.rules.yml", cwd=RULES)
    assert check.ok, check.output
    tests = run_promtool("test", "rules", "llmserve.rules.test.yml", cwd=RULES)
    assert tests.ok, tests.output


def test_every_alert_has_a_unit_test() -> None:
    rules = yaml.safe_load((RULES / "llmserve.rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tested = (RULES / "llmserve.rules.test.yml").read_text()
    assert {a for a in alerts if f"alertname: {a}" not in tested} == set()


def test_a_broken_threshold_fails_the_unit_tests(tmp_path: Path) -> None:
    for name in ("llmserve.rules.yml", "llmserve.rules.test.yml"):
        shutil.copy(RULES / name, tmp_path / name)
    rules = tmp_path / "llmserve.rules.yml"
    text = rules.read_text()
    assert "(llmserve_queue_depth) > 4" in text
    rules.write_text(text.replace("(llmserve_queue_depth) > 4", "(llmserve_queue_depth) > 40"))
    result = run_promtool("test", "rules", "llmserve.rules.test.yml", cwd=tmp_path)
    assert not result.ok
    assert "LlmServeQueueBacklog" in result.output
