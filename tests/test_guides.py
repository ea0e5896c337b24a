"""The learner's path, checked without running it: every guide has a checkpoint per step,
every command goes through the package's own environment, every link resolves.

(The checkpoints themselves run in the ``guide(<short>)`` nox sessions.)
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from aiinfra_shared import guides, workspace

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = workspace.exercises(ROOT)
IDS = {m.id for m in EXERCISES} | {m.short for m in EXERCISES}
DOCS = sorted(
    {p for m in EXERCISES for p in (m.path / "README.md", m.path / guides.GUIDE) if p.is_file()}
    | {ROOT / "README.md", ROOT / "shared" / "README.md"}
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
#: Commands that turn the root environment into one package's (what depended on the order a
#: learner ran things in), or that skip the package's environment altogether.
ROOT_ENV_REWRITES = re.compile(r"uv (?:run|sync) --package|\.venvs/\w+/bin/")


@pytest.mark.parametrize("member", EXERCISES, ids=lambda m: m.short)
def test_every_step_has_a_checkpoint(member: workspace.Member) -> None:
    guide = guides.guide_for(member)
    assert guide.steps, f"{guide.path}: no '## N. Title' steps"
    assert guide.checkpoints, f"{guide.path}: no checkpoints"
    missing = [f"{s.number}. {s.title}" for s in guide.steps_without_checkpoint()]
    assert missing == []


@pytest.mark.parametrize("member", EXERCISES, ids=lambda m: m.short)
def test_checkpoints_use_the_packages_environment(member: workspace.Member) -> None:
    """``aiinfra exec`` names a package that exists, and most checkpoints are quick enough
    for CI."""
    guide = guides.guide_for(member)
    for checkpoint in guide.checkpoints:
        for target in re.findall(r"aiinfra exec (?:--extra \S+ )*(\S+)", checkpoint.command):
            assert target in IDS, f"{guide.path}:{checkpoint.line}: unknown package {target}"
    quick = [c for c in guide.checkpoints if not c.slow]
    assert quick, f"{guide.path}: every checkpoint is slow, so CI runs none of them"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_command_rewrites_the_root_environment(doc: Path) -> None:
    offenders = [
        f"{doc.relative_to(ROOT)}:{n}: {line.strip()}"
        for n, line in enumerate(doc.read_text().splitlines(), 1)
        if ROOT_ENV_REWRITES.search(line)
    ]
    assert offenders == [], "use `uv run aiinfra exec <id> -- ...` instead"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text()):
        if "://" in target or target.startswith(("#", "mailto:")):
            continue
        path = target.split("#", 1)[0]
        if path and not (doc.parent / path).exists():
            broken.append(target)
    assert broken == []


def test_background_checkpoints_use_ports_no_other_guide_uses() -> None:
    """CI runs guides in two lanes at once: two guides must never bind the same port."""
    ports: Counter[str] = Counter()
    for member in EXERCISES:
        for checkpoint in guides.guide_for(member).checkpoints:
            if checkpoint.background:
                ports.update(set(re.findall(r"127\.0\.0\.1:(\d+)", checkpoint.ready)))
    assert [port for port, n in ports.items() if n > 1] == []
