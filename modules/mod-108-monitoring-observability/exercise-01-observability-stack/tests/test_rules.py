"""The rules: generated == shipped, promtool's unit tests pass, and they can fail."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from obsstack import rules
from obsstack.errors import ObsstackError

from aiinfra_shared.services.prometheus import run_promtool

PACKAGE = Path(__file__).resolve().parents[1]
RULES = PACKAGE / "rules"


def test_the_shipped_rules_are_the_generated_ones() -> None:
    assert (RULES / "obsstack-rules.yml").read_text() == rules.render(1), (
        "rules/obsstack-rules.yml is stale: run `obsstack rules --out rules/obsstack-rules.yml`"
    )


def test_promtool_unit_tests_pass() -> None:
    done = run_promtool("test", "rules", "obsstack-rules.test.yml", cwd=RULES / "tests")
    assert done.ok, done.output


def test_promtool_unit_tests_catch_a_burn_alert_without_its_short_window(tmp_path: Path) -> None:
    # The multiwindow rule minus its short window would keep paging after the errors stop:
    # the unit tests must notice.
    data = rules.build(1)
    for group in data["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "ErrorBudgetBurn":
                rule["expr"] = rule["expr"].split("\nand\n")[0]
    (tmp_path / "obsstack-rules.yml").write_text(yaml.safe_dump(data))
    (tmp_path / "tests").mkdir()
    shutil.copy(RULES / "tests" / "obsstack-rules.test.yml", tmp_path / "tests")
    done = run_promtool("test", "rules", "obsstack-rules.test.yml", cwd=tmp_path / "tests")
    assert not done.ok
    assert "the short windows reset the pages" in done.output


@pytest.mark.parametrize("scale", [1, 60])
def test_promtool_accepts_the_rules_at_every_scale(tmp_path: Path, scale: int) -> None:
    path = rules.write(tmp_path / "r.yml", scale)
    done = run_promtool("check", "rules", str(path))
    assert done.ok, done.output
    assert "18 rules found" in done.output


def test_time_compression_divides_every_window_and_for() -> None:
    prod, fast = rules.build(1), rules.build(60)
    burn = [r for r in rules.alert_rules(1) if r["alert"] == "ErrorBudgetBurn"]
    burn_fast = [r for r in rules.alert_rules(60) if r["alert"] == "ErrorBudgetBurn"]
    assert prod["groups"][0]["rules"][-1]["alert"] == fast["groups"][0]["rules"][-1]["alert"]
    assert [r["for"] for r in burn] == ["2m", "15m", "1h"]
    assert [r["for"] for r in burn_fast] == ["2s", "15s", "1m"]
    assert "ratio_rate1h > (14.4 * 0.001)" in burn[0]["expr"]
    assert "ratio_rate1m > (14.4 * 0.001)" in burn_fast[0]["expr"]
    assert "ratio_rate5s > (14.4 * 0.001)" in burn_fast[0]["expr"]
    # the labels (what Alertmanager routes on) do not change with the scale
    assert [r["labels"] for r in burn] == [r["labels"] for r in burn_fast]


@pytest.mark.parametrize(
    ("seconds", "text"), [(3600, "1h"), (300, "5m"), (5, "5s"), (90, "90s"), (86400 * 3, "3d")]
)
def test_durations(seconds: int, text: str) -> None:
    assert rules.duration(seconds) == text


@pytest.mark.parametrize("scale", [0, 7, 1000])
def test_a_scale_that_breaks_windows_is_refused(scale: int) -> None:
    with pytest.raises(ObsstackError):
        rules.build(scale)


def test_slo_alerts_share_the_group_of_the_recordings_they_read() -> None:
    # groups run independently: an alert in another group may read a stale recording
    groups = rules.build()["groups"]
    for group in groups:
        recorded = {r["record"] for r in group["rules"] if "record" in r}
        for other in groups:
            if other is group:
                continue
            for rule in other["rules"]:
                used = {name for name in recorded if name in rule["expr"]}
                assert not used, (
                    f"{rule.get('alert') or rule.get('record')} reads {used} from another group"
                )


def test_promtool_unit_tests_are_stable() -> None:
    # promtool evaluates groups in a random order; run the suite a few times
    for _ in range(5):
        done = run_promtool("test", "rules", "obsstack-rules.test.yml", cwd=RULES / "tests")
        assert done.ok, done.output


def test_every_alert_has_severity_team_and_summary() -> None:
    for rule in rules.alert_rules():
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["labels"]["team"] in {"ml", "platform"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
