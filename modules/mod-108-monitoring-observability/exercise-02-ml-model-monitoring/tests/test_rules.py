"""promtool: the rules pass their unit tests, the config is valid, a broken rule fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from modelmon.assets import (
    RULE_TESTS_FILE,
    RULES_FILE,
    asset_dir,
    check_config,
    check_rules,
    demo_config,
    run_rule_tests,
    shorten_for,
)


def test_shipped_rules_and_config_pass_promtool() -> None:
    for result in (check_rules(), run_rule_tests(), check_config()):
        assert result.ok, result.output


def _copy_rules(tmp_path: Path) -> Path:
    for name in (RULES_FILE, RULE_TESTS_FILE):
        shutil.copy(asset_dir("rules") / name, tmp_path / name)
    return tmp_path / RULES_FILE


def test_a_loosened_error_threshold_fails_the_unit_tests(tmp_path: Path) -> None:
    rules = _copy_rules(tmp_path)
    text = rules.read_text()
    assert "modelmon:prediction_errors:ratio_rate5m > 0.05" in text
    rules.write_text(text.replace("ratio_rate5m > 0.05", "ratio_rate5m > 0.5"))
    result = run_rule_tests(tmp_path)
    assert not result.ok
    assert "ModelmonHighErrorRate" in result.output


def test_a_wrong_recording_rule_fails_the_unit_tests(tmp_path: Path) -> None:
    rules = _copy_rules(tmp_path)
    text = rules.read_text()
    rules.write_text(text.replace('{le="0.25"}[5m]', '{le="0.5"}[5m]'))  # wrong SLO bucket
    assert not run_rule_tests(tmp_path).ok


def test_broken_promql_fails_the_check(tmp_path: Path) -> None:
    rules = _copy_rules(tmp_path)
    rules.write_text(rules.read_text().replace('up{job="modelmon"} == 0', 'up{job="modelmon"} =='))
    assert not check_rules(tmp_path).ok


def test_shorten_for_changes_only_for(tmp_path: Path) -> None:
    rules = yaml.safe_load((asset_dir("rules") / RULES_FILE).read_text())
    short = shorten_for(rules, "10s")
    for group, new_group in zip(rules["groups"], short["groups"], strict=True):
        for rule, new in zip(group["rules"], new_group["rules"], strict=True):
            assert {k: v for k, v in rule.items() if k != "for"} == {
                k: v for k, v in new.items() if k != "for"
            }
            if "for" in rule:
                assert new["for"] == "10s"
    config = demo_config("127.0.0.1:1234", tmp_path)
    assert config["scrape_configs"][0]["static_configs"] == [{"targets": ["127.0.0.1:1234"]}]
    assert Path(config["rule_files"][0]).is_file()
