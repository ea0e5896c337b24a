"""Every member is a well-formed package with a valid, unique [tool.aiinfra] table."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from aiinfra_shared import workspace
from aiinfra_shared.services import LAUNCHERS

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = workspace.discover(ROOT)
IDS = [m.short for m in MEMBERS]


def test_the_workspace_globs_find_shared_and_the_reference_package() -> None:
    assert {"shared", "mlapi"} <= set(IDS)


def test_ids_and_short_names_are_unique() -> None:
    for key in ("id", "short", "import_name"):
        counts = Counter(getattr(m, key) for m in MEMBERS)
        assert [k for k, n in counts.items() if n > 1] == [], key


@pytest.mark.parametrize("member", MEMBERS, ids=IDS)
def test_member_layout_and_metadata(member: workspace.Member) -> None:
    assert workspace.problems(member, ROOT) == []
    for needed in ("pyproject.toml", "README.md", "tests"):
        assert (member.path / needed).exists(), needed
    assert (member.path / "src" / member.import_name / "__init__.py").is_file()
    assert set(member.services) <= set(LAUNCHERS), "unknown service in [tool.aiinfra].services"


@pytest.mark.parametrize(
    "member", [m for m in MEMBERS if m.kind != "library"], ids=lambda m: m.short
)
def test_exercise_conventions(member: workspace.Member) -> None:
    data = tomllib.loads((member.path / "pyproject.toml").read_text())
    deps = data["project"]["dependencies"]
    assert any(d.startswith("aiinfra-shared") for d in deps), "depends on aiinfra-shared"
    others = {m.dist for m in MEMBERS if m.kind != "library"} - {member.dist}
    assert not [d for d in deps if d.split("[")[0].split(">")[0].split("=")[0] in others], (
        "a package never depends on another exercise package"
    )
    assert data["project"]["scripts"].get(member.short, "").startswith(f"{member.import_name}.cli:")
    assert "test" in data.get("dependency-groups", {}), "needs a [dependency-groups] test group"
    assert member.path.relative_to(ROOT).parts[0] == (
        "projects" if member.kind == "project" else "modules"
    )
    readme = (member.path / "README.md").read_text()
    assert f"uv run aiinfra run {member.id}" in readme


def test_lock_has_no_cuda_packages_and_cpu_torch() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    names = {p["name"]: p for p in lock["package"]}
    assert not [n for n in names if n.startswith("nvidia-") or n == "triton"]
    if "torch" in names:
        assert names["torch"]["version"].endswith("+cpu")
        # from the explicit torch-cpu index (a local folder here), never from PyPI
        assert "pypi.org" not in str(names["torch"]["source"])


def test_torch_only_comes_from_the_explicit_cpu_index() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [index] = [i for i in data["tool"]["uv"]["index"] if i["name"] == "torch-cpu"]
    assert index["explicit"] is True
    assert data["tool"]["uv"]["sources"]["torch"] == {"index": "torch-cpu"}
