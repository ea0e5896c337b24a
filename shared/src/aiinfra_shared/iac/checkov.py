"""Run checkov over Terraform and gate on severity.

checkov (3.3.30) is installed as a uv tool, beside the workspace, not in it: it pins
``packaging==23.2`` and would drag the whole workspace's lock back
(``scripts/install-system-deps.sh`` runs ``uv tool install checkov==3.3.30``).

Open-source checkov reports no severity for its built-in checks (that needs a Prisma Cloud
key), so the repo keeps one table, ``severity.yaml`` beside this module, for AWS, GCP and
Azure. An exercise adds its own custom checks (YAML, with their severity in their metadata)
and, if it must, a ``severity.yaml`` of its own in the same folder: later tables win.

A failed check that no table rates is ``UNRATED`` and fails the gate like a HIGH one: a new
checkov release (or a new resource type) must not slip through as LOW unnoticed. Rate it in a
``severity.yaml`` to decide.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aiinfra_shared.iac.errors import IacError

CHECKOV_VERSION = "3.3.30"
INSTALL = f"uv tool install checkov=={CHECKOV_VERSION}"
NO_REASON = "No comment provided"
UNRATED = "UNRATED"


class CheckovMissingError(IacError):
    """No checkov executable on this machine."""


@dataclass(frozen=True)
class CheckFinding:
    check_id: str
    name: str
    severity: str
    resource: str
    file: str
    lines: tuple[int, int]
    reason: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.lines[0]}" if self.lines[0] else self.file
        return f"{self.severity} {self.check_id} {self.resource} ({where}): {self.name}"


@dataclass
class CheckovReport:
    failed: list[CheckFinding] = field(default_factory=list)
    skipped: list[CheckFinding] = field(default_factory=list)
    passed: int = 0
    resources: int = 0

    @property
    def unrated(self) -> list[CheckFinding]:
        """Failed checks that no severity table rates (they fail the gate)."""
        return self.at(UNRATED)

    def at(self, severity: str) -> list[CheckFinding]:
        return [f for f in self.failed if f.severity == severity]

    @property
    def unexplained_skips(self) -> list[CheckFinding]:
        """Inline ``#checkov:skip=`` without a reason: a silent waiver."""
        return [s for s in self.skipped if not s.reason or s.reason == NO_REASON]

    @property
    def headline(self) -> str:
        return (
            f"checkov: {self.passed} passed, {len(self.failed)} failed "
            f"({len(self.at('HIGH'))} HIGH, {len(self.unrated)} unrated), "
            f"{len(self.skipped)} skipped"
        )

    @property
    def ok(self) -> bool:
        """No HIGH or unrated finding and every waiver explained."""
        return not self.at("HIGH") and not self.unrated and not self.unexplained_skips


def find_checkov() -> str:
    """Path of the checkov executable (PATH, then uv's tool bin folder)."""
    found = shutil.which("checkov")
    if found:
        return found
    uv = shutil.which("uv")
    if uv:
        done = subprocess.run(
            [uv, "tool", "dir", "--bin"], capture_output=True, text=True, check=False
        )
        candidate = Path(done.stdout.strip()) / "checkov"
        if done.returncode == 0 and candidate.is_file():
            return str(candidate)
    raise CheckovMissingError(f"checkov is not installed; run `{INSTALL}`")


BASELINE = Path(__file__).with_name("severity.yaml")


def require_terraform(path: Path) -> None:
    """Refuse a path that holds no Terraform: a gate over nothing must not pass.

    Raises:
        IacError: ``path`` is missing, not a folder, or has no ``*.tf`` file below it.
    """
    if not path.exists():
        raise IacError(f"no such folder: {path}")
    if not path.is_dir():
        raise IacError(f"not a folder: {path}")
    if next(path.rglob("*.tf"), None) is None:
        raise IacError(f"no Terraform files (*.tf) under {path}")


def severities(policies: Sequence[Path] = ()) -> dict[str, str]:
    """check id -> HIGH/MEDIUM: the baseline table, then each folder's (later ones win)."""
    table: dict[str, str] = {}
    for path in [BASELINE, *(folder / "severity.yaml" for folder in policies)]:
        doc = yaml.safe_load(path.read_text()) if path.is_file() else {}
        table.update(
            {check: level for level, checks in (doc or {}).items() for check in checks or {}}
        )
    return table


def _finding(raw: dict[str, Any], table: dict[str, str], base: Path) -> CheckFinding:
    lines = raw.get("file_line_range") or [0, 0]
    file = str(raw.get("file_path", "")).lstrip("/")
    return CheckFinding(
        check_id=raw["check_id"],
        name=raw.get("check_name", ""),
        severity=(raw.get("severity") or table.get(raw["check_id"]) or UNRATED).upper(),
        resource=raw.get("resource", ""),
        file=str(Path(base.name) / file) if file else base.name,
        lines=(int(lines[0]), int(lines[1])),
        reason=str((raw.get("check_result") or {}).get("suppress_comment", "")),
    )


def run_checkov(path: Path, *, policies: Sequence[Path] = ()) -> CheckovReport:
    """checkov's terraform framework over ``path`` (recursively), plus the custom checks (and
    severity overrides) in each folder of ``policies``.

    Raises:
        IacError: ``path`` is not a folder with Terraform files in it (checkov would scan
            nothing and report a pass).
    """
    require_terraform(path)
    cmd = [
        find_checkov(),
        "-d",
        str(path),
        "--framework",
        "terraform",
        "--skip-download",
        "--compact",
        "-o",
        "json",
    ]
    for folder in policies:
        cmd += ["--external-checks-dir", str(folder)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
    if done.returncode not in (0, 1):
        raise IacError(f"checkov failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    try:
        doc = json.loads(done.stdout) if done.stdout.strip() else {}
    except ValueError:
        raise IacError(f"checkov printed no JSON: {done.stdout[:300]}") from None
    table = severities(policies)
    report = CheckovReport()
    for part in doc if isinstance(doc, list) else [doc]:
        if not part or "results" not in part:
            report.resources += int((part or {}).get("resource_count", 0))
            continue
        results = part["results"]
        report.failed += [_finding(r, table, path) for r in results.get("failed_checks", [])]
        report.skipped += [_finding(r, table, path) for r in results.get("skipped_checks", [])]
        report.passed += int(part.get("summary", {}).get("passed", 0))
        report.resources += int(part.get("summary", {}).get("resource_count", 0))
    return report
