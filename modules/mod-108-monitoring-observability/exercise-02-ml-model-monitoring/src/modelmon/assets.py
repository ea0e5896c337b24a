"""The shipped rules and Prometheus config, and the promtool checks run on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from aiinfra_shared.services.prometheus import PromtoolResult, run_promtool
from modelmon.errors import ModelmonError

RULES_FILE = "modelmon.rules.yml"
RULE_TESTS_FILE = "modelmon.rules.test.yml"
CONFIG_FILE = "prometheus.yml"


def asset_dir(name: str) -> Path:
    """``rules`` or ``prometheus``: inside the wheel, or beside ``src/`` in the repo."""
    for candidate in (Path(__file__).parent / name, Path(__file__).parents[2] / name):
        if candidate.is_dir():
            return candidate
    raise ModelmonError(f"the shipped folder {name!r} is missing from the install")


def check_rules(folder: Path | None = None) -> PromtoolResult:
    """``promtool check rules``."""
    return run_promtool("check", "rules", RULES_FILE, cwd=folder or asset_dir("rules"))


def run_rule_tests(folder: Path | None = None) -> PromtoolResult:
    """``promtool test rules`` on the rules' unit tests."""
    return run_promtool("test", "rules", RULE_TESTS_FILE, cwd=folder or asset_dir("rules"))


def check_config(folder: Path | None = None) -> PromtoolResult:
    """``promtool check config`` on the shipped Prometheus config (it loads the rules too)."""
    return run_promtool("check", "config", CONFIG_FILE, cwd=folder or asset_dir("prometheus"))


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    for unit in sorted(units, key=len, reverse=True):
        if duration.endswith(unit):
            return float(duration[: -len(unit)]) * units[unit]
    raise ModelmonError(f"cannot read the duration {duration!r}")


def shorten_for(rules: dict[str, Any], max_for: str) -> dict[str, Any]:
    """A copy of a rules document whose alerts wait at most ``max_for`` before firing.

    Only ``for:`` changes: expressions, thresholds and labels stay as shipped. The demo uses
    it so an alert that waits minutes in production fires within a one-minute run.
    """
    limit = _seconds(max_for)
    groups = []
    for group in rules["groups"]:
        new_rules = []
        for rule in group["rules"]:
            rule = dict(rule)
            if "for" in rule and _seconds(rule["for"]) > limit:
                rule["for"] = max_for
            new_rules.append(rule)
        groups.append({**group, "rules": new_rules})
    return {**rules, "groups": groups}


def demo_config(
    target: str, workdir: Path, *, max_for: str = "10s", interval: str = "1s"
) -> dict[str, Any]:
    """The shipped Prometheus config pointed at ``target``, fast intervals, shortened ``for:``.

    Writes the adjusted rules into ``workdir`` and returns the config dict for
    :func:`aiinfra_shared.services.prometheus.prometheus`.
    """
    config: dict[str, Any] = yaml.safe_load((asset_dir("prometheus") / CONFIG_FILE).read_text())
    rules = yaml.safe_load((asset_dir("rules") / RULES_FILE).read_text())
    workdir.mkdir(parents=True, exist_ok=True)
    rules_path = workdir / RULES_FILE
    rules_path.write_text(yaml.safe_dump(shorten_for(rules, max_for), sort_keys=False))
    config["global"] = {"scrape_interval": interval, "evaluation_interval": interval}
    config["rule_files"] = [str(rules_path.resolve())]
    for job in config["scrape_configs"]:
        if job["job_name"] == "modelmon":
            job["static_configs"] = [{"targets": [target]}]
    return config
