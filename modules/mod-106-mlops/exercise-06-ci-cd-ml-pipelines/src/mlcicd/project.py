"""The template project: a git repository whose data and pipeline are versioned with DVC.

``init`` writes the template (``dvc.yaml``, ``params.yaml``, workflows, a data contract
test), generates the raw and reference data, and runs the real tools: ``git init``,
``dvc init``, a local directory remote, ``dvc add``, ``dvc repro``, ``git commit``,
``dvc push``. ``metrics_diff`` and ``params_diff`` read ``dvc metrics diff`` and
``dvc params diff`` against another commit: the model gate's production baseline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from mlcicd.data import generate, write_csv
from mlcicd.errors import MlcicdError

#: template files and where they go in the project (dot files are stored without the dot)
TEMPLATE = {
    "params.yaml": "params.yaml",
    "dvc.yaml": "dvc.yaml",
    "gitignore": ".gitignore",
    "requirements.txt": "requirements.txt",
    "README.md": "README.md",
    "tests/test_data_contract.py.tmpl": "tests/test_data_contract.py",
    "github/workflows/pr.yml": ".github/workflows/pr.yml",
    "github/workflows/main.yml": ".github/workflows/main.yml",
}


def tool_env() -> dict[str, str]:
    """The environment for git, dvc and the stages: this interpreter's scripts first on PATH
    (``dvc repro`` runs ``mlcicd stage ...``), and a fixed author for commits."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for key in ("GIT_AUTHOR", "GIT_COMMITTER"):
        env.setdefault(f"{key}_NAME", "mlcicd")
        env.setdefault(f"{key}_EMAIL", "mlcicd@localhost")
    env.setdefault("DVC_NO_ANALYTICS", "1")
    return env


def run(cmd: list[str], cwd: Path, timeout: float = 300) -> str:
    """Run git or dvc in ``cwd``; a failure is one line with the tool's last words."""
    if cmd[0] == "dvc":
        argv = [sys.executable, "-m", "dvc", *cmd[1:]]
    else:
        found = shutil.which(cmd[0])
        if found is None:
            raise MlcicdError(f"{cmd[0]} is not installed (needed for `{' '.join(cmd)}`)")
        argv = [found, *cmd[1:]]
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=tool_env(), capture_output=True, text=True, timeout=timeout,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise MlcicdError(f"`{' '.join(cmd)}` took longer than {timeout:g} s") from None
    if done.returncode != 0:
        words = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        last = next(
            (w for w in reversed(words) if w.startswith("ERROR")), words[-1] if words else ""
        )
        raise MlcicdError(f"`{' '.join(cmd)}` failed in {cwd}: {last[:400]}")
    return done.stdout


def init(target: Path, remote: Path | None = None, *, rows: int = 2000, seed: int = 11) -> Path:
    """Create the template project at ``target`` (a new or empty folder) and commit it.

    Returns:
        The project folder. Its DVC remote is ``remote`` (default: ``<target>-dvc-remote``).
    """
    if target.exists() and any(target.iterdir()):
        raise MlcicdError(f"{target}: not empty; give a new folder")
    remote = (remote or target.with_name(target.name + "-dvc-remote")).resolve()
    target.mkdir(parents=True, exist_ok=True)
    files = resources.files("mlcicd") / "template"
    for source, dest in TEMPLATE.items():
        path = target / dest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files.joinpath(source).read_text(encoding="utf-8"), encoding="utf-8")
    write_csv(generate(rows, seed), target / "data" / "raw.csv")
    write_csv(generate(rows, seed + 1000), target / "data" / "reference.csv")
    run(["git", "init", "-q", "-b", "main"], target)
    run(["dvc", "init", "-q"], target)
    run(["dvc", "config", "core.autostage", "true"], target)
    remote.mkdir(parents=True, exist_ok=True)
    run(["dvc", "remote", "add", "-d", "local", str(remote)], target)
    run(["dvc", "add", "-q", "data/raw.csv", "data/reference.csv"], target)
    run(["dvc", "repro", "-q"], target)
    run(["git", "add", "-A"], target)
    run(["git", "commit", "-q", "-m", "loan-default: data, pipeline, workflows"], target)
    run(["dvc", "push", "-q"], target)
    return target


def commit(project: Path, message: str) -> str:
    """Reproduce, stage everything, commit and push the DVC outputs; returns the commit id."""
    run(["dvc", "repro", "-q"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-q", "-m", message], project)
    run(["dvc", "push", "-q"], project)
    return run(["git", "rev-parse", "HEAD"], project).strip()


def metrics_diff(project: Path, base: str) -> dict[str, dict[str, Any]]:
    """``dvc metrics diff <base> --all``: metric -> {old, new, diff} (old None when new)."""
    data = json.loads(run(["dvc", "metrics", "diff", base, "--all", "--json"], project) or "{}")
    merged: dict[str, dict[str, Any]] = {}
    for per_file in data.get("diff", data).values():
        merged.update(per_file)
    return merged


def params_diff(project: Path, base: str) -> dict[str, dict[str, Any]]:
    """``dvc params diff <base>``: changed parameter -> {old, new}."""
    data = json.loads(run(["dvc", "params", "diff", base, "--json"], project) or "{}")
    merged: dict[str, dict[str, Any]] = {}
    for per_file in data.get("diff", data).values():
        merged.update(per_file)
    return merged


def baseline(project: Path, base: str) -> dict[str, float] | None:
    """The metrics at ``base`` (the production model's), from ``dvc metrics diff``."""
    old = {k: v["old"] for k, v in metrics_diff(project, base).items() if v.get("old") is not None}
    return {k: float(v) for k, v in old.items()} or None
