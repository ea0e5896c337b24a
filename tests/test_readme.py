"""The README cannot drift from the packages or the CI script."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from aiinfra_shared import workspace

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
START, END = "<!-- exercises:start -->", "<!-- exercises:end -->"


def test_exercise_table_matches_aiinfra_list() -> None:
    table = README.split(START, 1)[1].split(END, 1)[0].strip()
    expected = workspace.markdown_table(workspace.exercises(ROOT), ROOT)
    assert table == expected, "README table is stale: paste `uv run aiinfra list --markdown`"


def test_quick_start_has_exactly_the_two_commands_and_ci_runs_the_test_one() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^uv run .+$", quick, flags=re.MULTILINE)
    assert commands == ["uv run aiinfra run 101-07", "uv run nox"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'uv run nox -t "lane-$lane"' in ci
    assert "for lane in 1 2" in ci


def test_ci_lanes_together_are_exactly_the_default_sessions() -> None:
    default = _nox_sessions()
    lanes = [_nox_sessions("-t", f"lane-{n}") for n in (1, 2)]
    assert lanes[0]
    assert lanes[1]
    assert not set(lanes[0]) & set(lanes[1])
    assert sorted(lanes[0] + lanes[1]) == sorted(default)


def _nox_sessions(*args: str) -> list[str]:
    """The sessions ``nox -l`` marks as selected."""
    done = subprocess.run(
        [sys.executable, "-m", "nox", "-l", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return re.findall(r"^\* (\S+)", done.stdout, flags=re.MULTILINE)


def test_relative_links_in_markdown_resolve() -> None:
    broken = []
    for md in [
        ROOT / "README.md",
        *ROOT.glob("modules/*/*/README.md"),
        *ROOT.glob("modules/*/*/docs/*.md"),
        *ROOT.glob("projects/*/README.md"),
        ROOT / "shared" / "README.md",
    ]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", md.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (md.parent / target).exists():
                broken.append(f"{md.relative_to(ROOT)} -> {target}")
    assert broken == []
