"""``mlcicd demo``: a model project going through CI/CD, every tool real.

1. ``mlcicd init``: git + DVC project, data added, pipeline reproduced, pushed to the remote.
2. The first model passes the model gate, is registered, smoke-tested, deployed.
3. A good pull request (a parameter change): ``dvc params diff`` / ``dvc metrics diff``
   against main, both gates pass, merged, registered, rolled out as a canary under traffic.
4. A bad pull request (a crippled model): the model gate fails with its evidence; main is
   checked out again and ``dvc checkout`` restores main's model.
5. New data that drifted: the data gate fails (KS + PSI per feature).
6. A hotfix that skipped the gates (a version 0.45 s slower per call) is rolled out: the
   canary's p95 latency on /metrics rolls it back; no client request failed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiinfra_shared.cliapp import console
from mlcicd import deploy, faults, project, registry
from mlcicd.config import Settings
from mlcicd.data import generate, read_csv, write_csv
from mlcicd.gates import Gate, data_gate, model_gate
from mlcicd.report import print_gate, print_rollout, step_row
from mlcicd.stages import MODEL, TEST, load_model


def _set_params(root: Path, **changes: str) -> None:
    path = root / "params.yaml"
    text = path.read_text()
    for key, value in changes.items():
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith(f"{key}:"):
                indent = line[: len(line) - len(line.lstrip())]
                comment = line.split("#", 1)[1] if "#" in line else ""
                lines[i] = f"{indent}{key}: {value}" + (f"   #{comment}" if comment else "")
        text = "\n".join(lines) + "\n"
    path.write_text(text)


def _model_gate(root: Path, base: str | None) -> Gate:
    baseline = project.baseline(root, base) if base else None
    gate = model_gate(load_model(root / MODEL), read_csv(root / TEST), baseline=baseline)
    print_gate(gate)
    return gate


def _diffs(root: Path, base: str) -> None:
    for name, changed in (("params", project.params_diff(root, base)),
                          ("metrics", project.metrics_diff(root, base))):  # fmt: skip
        shown = ", ".join(
            f"{k} {v.get('old')} -> {v.get('new')}" for k, v in sorted(changed.items())
            if k in ("train.C", "train.model", "train.max_depth", "train.n_estimators",
                     "roc_auc", "f1")
        )  # fmt: skip
        console.print(f"dvc {name} diff {base}: {shown or 'none'}")


def run(workdir: Path | None = None) -> None:
    """The whole story in about a minute."""
    with tempfile.TemporaryDirectory(prefix="mlcicd-demo-") as tmp:
        base = Path(workdir or tmp)
        root = base / "loan-default"
        settings = Settings(registry=base / "registry")
        sh = project.run

        console.rule("1. mlcicd init: git + DVC project, data versioned, pipeline reproduced")
        with console.status("git init, dvc init, dvc add, dvc repro, git commit, dvc push"):
            project.init(root, base / "dvc-remote")
        console.print(sh(["dvc", "dag"], root).strip())
        console.print(sh(["git", "log", "--oneline"], root).strip())

        console.rule("2. the first model: gate, register, smoke, deploy")
        _model_gate(root, None)
        first = registry.register_project(settings, root)
        result = deploy.rollout(settings, version=first)
        print_rollout(result)

        console.rule("3. a good pull request: C 1.0 -> 0.3")
        sh(["git", "checkout", "-q", "-b", "tune-c"], root)
        _set_params(root, C="0.3")
        project.commit(root, "train: C=0.3")
        _diffs(root, "main")
        good = _model_gate(root, "main")
        if good.passed:
            sh(["git", "checkout", "-q", "main"], root)
            sh(["git", "merge", "-q", "--ff-only", "tune-c"], root)
            second = registry.register_project(settings, root)
            console.print(f"merged; registered version {second}; canary rollout with 8 clients")
            result = deploy.rollout(
                settings, version=second, clients=8,
                on_step=lambda s: console.print("  step " + " | ".join(step_row(s))),
            )  # fmt: skip
            print_rollout(result)

        console.rule("4. a bad pull request: a one-tree forest of depth 1")
        sh(["git", "checkout", "-q", "-b", "tiny-forest"], root)
        _set_params(root, model="random_forest", max_depth="1", n_estimators="1")
        project.commit(root, "train: tiny forest")
        _diffs(root, "main")
        bad = _model_gate(root, "main")
        console.print(f"model gate {'passed' if bad.passed else 'FAILED: the PR is blocked'}")
        sh(["git", "checkout", "-q", "main"], root)
        sh(["dvc", "checkout", "-q"], root)
        console.print("back on main; `dvc checkout` restored main's model and data")

        console.rule("5. new data that drifted (incomes x1.6)")
        drifted = write_csv(generate(2000, 5, income_scale=1.6), base / "incoming.csv")
        gate = data_gate(read_csv(drifted), read_csv(root / "data" / "reference.csv"))
        print_gate(gate)
        (base / "gate-data.md").write_text(gate.markdown())

        console.rule("6. a hotfix that skipped the gates is 0.45 s slower per call: canary")
        model = load_model(root / MODEL)
        hotfix = registry.register_model(
            settings, faults.plant(model, "slow"), metrics={}, tags={"fault": "slow"},
        )  # fmt: skip
        result = deploy.rollout(
            settings, version=hotfix, clients=8,
            on_step=lambda s: console.print("  step " + " | ".join(step_row(s))),
        )  # fmt: skip
        print_rollout(result)

        console.rule("the registry")
        from rich.table import Table

        table = Table("version", "aliases", "roc_auc", "git commit", "note")
        for v in registry.versions(settings):
            table.add_row(v["version"], ", ".join(v["aliases"]), v["roc_auc"], v["commit"],
                          v["note"])  # fmt: skip
        console.print(table)
        console.print(f"project: {root}  registry: {settings.registry}")
