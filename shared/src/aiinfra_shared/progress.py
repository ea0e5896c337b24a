"""The learner's progress through the curriculum, recorded as they work.

``aiinfra test <id>`` records whether the package's tests passed, ``aiinfra run <id>`` whether
its demo ran, and ``aiinfra guide check <id>`` how many checkpoints of its guide passed, each
with the date, in ``.aiinfra/progress.json`` (git-ignored: it is the learner's, not the
repository's). ``aiinfra progress`` reads it back as a table with the next suggested exercise.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiinfra_shared import workspace

KINDS = ("tests", "demo", "guide")


def progress_file(root: Path) -> Path:
    """``$AIINFRA_PROGRESS`` or ``<repo>/.aiinfra/progress.json``."""
    override = os.environ.get("AIINFRA_PROGRESS")
    return Path(override) if override else root / ".aiinfra" / "progress.json"


def load(root: Path) -> dict[str, dict[str, Any]]:
    """Exercise id -> {kind -> {"ok": bool, "at": iso date, "detail": str}}; {} if none yet
    (or the file is unreadable: progress is a convenience, never a reason to fail)."""
    try:
        data = json.loads(progress_file(root).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(root: Path, exercise_id: str, kind: str, ok: bool, detail: str = "") -> None:
    """Record one result (atomically: a crash never leaves a half-written file)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    data = load(root)
    data.setdefault(exercise_id, {})[kind] = {
        "ok": bool(ok),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "detail": detail,
    }
    path = progress_file(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".progress-")
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2, sort_keys=True)
    Path(tmp).replace(path)


def curriculum_key(exercise_id: str) -> tuple[int, int]:
    """Order of study: the junior modules (007-009), the mid-level modules (101-110), then the
    senior projects (2xx): numeric module then exercise."""
    module, _, exercise = exercise_id.partition("-")
    return int(module), int(exercise or 0)


@dataclass(frozen=True)
class Row:
    """One exercise's progress."""

    member: workspace.Member
    tests: dict[str, Any] | None
    demo: dict[str, Any] | None
    guide: dict[str, Any] | None

    @property
    def done(self) -> bool:
        """Its tests passed at the last run."""
        return bool(self.tests and self.tests.get("ok"))


def rows(root: Path) -> list[Row]:
    """Every exercise in curriculum order with what was recorded for it."""
    data = load(root)
    members = sorted(workspace.exercises(root), key=lambda m: curriculum_key(m.id))
    return [
        Row(m, data.get(m.id, {}).get("tests"), data.get(m.id, {}).get("demo"),
            data.get(m.id, {}).get("guide"))
        for m in members
    ]  # fmt: skip


def next_exercise(all_rows: list[Row]) -> Row | None:
    """The first exercise in curriculum order whose tests have not passed yet; one that was
    started (a demo ran, or tests failed) comes before one never touched."""
    pending = [r for r in all_rows if not r.done]
    started = [r for r in pending if r.tests or r.demo or r.guide]
    candidates = started or pending
    return candidates[0] if candidates else None


def cell(entry: dict[str, Any] | None) -> str:
    """``passed 2026-12-04``, ``FAILED 2026-12-04`` or ``-``."""
    if not entry:
        return "-"
    word = "passed" if entry.get("ok") else "FAILED"
    detail = f" ({entry['detail']})" if entry.get("detail") else ""
    return f"{word} {str(entry.get('at', ''))[:10]}{detail}"


def markdown(all_rows: list[Row]) -> str:
    """The progress table as Markdown, for a study log."""
    lines = ["| id | exercise | tests | demo | guide |", "|---|---|---|---|---|"]
    for r in all_rows:
        lines.append(
            f"| {r.member.id} | {r.member.title} | {cell(r.tests)} | {cell(r.demo)} | "
            f"{cell(r.guide)} |"
        )
    done = sum(r.done for r in all_rows)
    lines.append("")
    lines.append(f"{done} of {len(all_rows)} exercises pass their tests.")
    upcoming = next_exercise(all_rows)
    if upcoming is not None:
        lines.append(f"Next: {upcoming.member.id} ({upcoming.member.title}).")
    return "\n".join(lines)
