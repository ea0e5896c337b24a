"""The shipped alert rules and the promtool checks run on them."""

from __future__ import annotations

from pathlib import Path

from aiinfra_shared.services.prometheus import PromtoolResult, run_promtool
from driftwatch.errors import DriftwatchError

RULES_FILE = "driftwatch.rules.yml"
TESTS_FILE = "driftwatch.rules.test.yml"


def rules_dir() -> Path:
    """``rules/`` of the package: inside the wheel, or beside ``src/`` in the repo."""
    for candidate in (Path(__file__).parent / "rules", Path(__file__).parents[2] / "rules"):
        if (candidate / RULES_FILE).is_file():
            return candidate
    raise DriftwatchError("the alert rules (driftwatch.rules.yml) are missing from the install")


def check_rules(folder: Path | None = None) -> PromtoolResult:
    """``promtool check rules``: the file parses and every expression is valid PromQL."""
    folder = folder or rules_dir()
    return run_promtool("check", "rules", RULES_FILE, cwd=folder)


def run_rule_tests(folder: Path | None = None) -> PromtoolResult:
    """``promtool test rules``: the unit tests of the rules, on synthetic series."""
    folder = folder or rules_dir()
    return run_promtool("test", "rules", TESTS_FILE, cwd=folder)
