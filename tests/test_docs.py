"""The documentation site builds with ``mkdocs build --strict`` (a broken link or anchor fails
it), every package has its pages, and a link to nowhere stops the build."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aiinfra_shared import docsite, workspace

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mkdocs = shutil.which("mkdocs")
    assert mkdocs, "mkdocs is missing: the repo session installs the docs group"
    return docsite.build(ROOT, tmp_path_factory.mktemp("docs") / "site", mkdocs=mkdocs)


def test_the_site_builds_strict_with_a_page_per_package(site: Path) -> None:
    for page in ("index.html", "curriculum.html", "architecture.html", "repository.html"):
        assert (site / page).is_file(), page
    for guide in ("debugging-distributed", "performance-tuning", "production-readiness", "scaling"):
        assert (site / "guides" / f"{guide}.html").is_file()
    for member in workspace.exercises(ROOT):
        assert (site / "packages" / member.id / "index.html").is_file(), member.id
        assert (site / "packages" / member.id / "step-by-step.html").is_file(), member.id


def test_package_pages_link_to_copies_of_the_code_they_cite(site: Path) -> None:
    page = (site / "packages" / "101-07" / "step-by-step.html").read_text()
    assert "../../files/modules/mod-101-foundations/exercise-07-ml-api/src/mlapi/data.py" in page
    copied = site / "files/modules/mod-101-foundations/exercise-07-ml-api/src/mlapi/data.py"
    assert "def load_dataset" in copied.read_text()
    curriculum = (site / "curriculum.html").read_text()
    assert "packages/110-02/step-by-step.html" in curriculum


def test_a_link_to_nowhere_stops_the_build(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["projects/*"]\n')
    (tmp_path / "README.md").write_text("# root\n\nSee [the plan](docs/plan.md).\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# home\n\n[code](../src/missing.py)\n")
    with pytest.raises(docsite.DocsError, match=r"README.md: docs/plan.md.*missing.py"):
        docsite.assemble(tmp_path, tmp_path / "out")
