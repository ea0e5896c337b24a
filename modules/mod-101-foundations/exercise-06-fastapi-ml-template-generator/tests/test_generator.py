"""Templates, names, options, rendering and the three-way update, as plain functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mltemplate import generator
from mltemplate.errors import MltemplateError


def _bump(root: Path, template: str, version: str) -> None:
    meta = root / template / "template.toml"
    meta.write_text(meta.read_text().replace('version = "1.0.0"', f'version = "{version}"'))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_three_templates_with_their_own_options() -> None:
    found = generator.templates()
    assert set(found) == {"sklearn", "pytorch", "llm-gateway"}
    assert "gpu" in found["pytorch"].options
    assert "gpu" not in found["sklearn"].options
    for template in found.values():
        assert set(generator.COMMON_OPTIONS) <= set(template.options)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("1model", "starting with a letter"),
        ("Model", "lower-case"),
        ("my model", "lower-case"),
        ("class", "keyword"),
        ("match", "keyword"),
        ("json", "standard-library"),
        ("tests", "standard-library"),
        ("model-", "lower-case"),
    ],
)
def test_names_that_would_break_an_import_are_refused(name: str, why: str) -> None:
    with pytest.raises(MltemplateError, match=why):
        generator.check_name(name)


def test_a_dashed_name_becomes_an_underscored_package() -> None:
    assert generator.check_name("fraud-scorer") == "fraud_scorer"


def test_options_gate_their_files_and_unknown_options_are_refused() -> None:
    template = generator.get_template("sklearn")
    on = generator.render(template, "svc", generator.resolve_options(template, {"tracing": True}))
    wanted = {"Dockerfile", "k8s/deployment.yaml", ".github/workflows/ci.yml",
              ".pre-commit-config.yaml", "src/svc/tracing.py", "src/svc/metrics.py"}  # fmt: skip
    assert wanted <= set(on)
    off = generator.render(template, "svc", dict.fromkeys(template.options, False))
    assert not any(p.startswith(("k8s/", ".github/")) for p in off)
    assert "Dockerfile" not in off
    assert "src/svc/metrics.py" not in off
    assert "X-API-Key" not in off["src/svc/app.py"]
    with pytest.raises(MltemplateError, match=r"unknown option.*gpu.*for sklearn"):
        generator.resolve_options(template, {"gpu": True})
    with pytest.raises(MltemplateError, match="unknown template 'rust'"):
        generator.get_template("rust")


def test_an_undefined_name_in_a_template_is_an_error_not_a_blank(templates: Path) -> None:
    (templates / "sklearn" / "oops.txt.j2").write_text("{{ no_such_variable }}\n")
    template = generator.get_template("sklearn", templates)
    with pytest.raises(MltemplateError, match=r"oops\.txt\.j2.*no_such_variable"):
        generator.render(template, "svc", generator.resolve_options(template, {}))


def test_new_refuses_a_folder_with_files_and_writes_nothing_on_a_bad_name(tmp_path: Path) -> None:
    template = generator.get_template("sklearn")
    options = generator.resolve_options(template, {})
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(MltemplateError, match="exists and is not empty"):
        generator.new(template, "svc", options, busy)
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]
    with pytest.raises(MltemplateError, match="keyword"):
        generator.new(template, "import", options, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()
    generator.new(template, "svc", options, busy, force=True)
    assert (busy / "notes.txt").read_text() == "mine"
    answers = json.loads((busy / ".mltemplate/answers.json").read_text())
    assert answers == {"template": "sklearn", "version": "1.0.0", "name": "svc",
                       "options": options}  # fmt: skip


def test_update_keeps_edits_applies_template_changes_and_reports_conflicts(
    templates: Path, tmp_path: Path
) -> None:
    template = generator.get_template("sklearn", templates)
    project = tmp_path / "svc"
    generator.new(template, "svc", generator.resolve_options(template, {}), project)
    # The user: a note in the README, a change to the batch limit, a file of their own.
    _edit(project / "README.md", "## Run it", "## Our notes\n\nOwned by team A.\n\n## Run it")
    schemas = project / "src/svc/schemas.py"
    _edit(schemas, "max_length=256", "max_length=512")
    (project / "src/svc/extra.py").write_text("X = 1\n")
    # The template, version 1.1.0: a line in the README (elsewhere), the same limit changed
    # differently, a new file, a file dropped.
    _bump(templates, "sklearn", "1.1.0")
    _edit(templates / "_common/README.md.j2", "## Container", "## Container\n\nScan it.")
    _edit(templates / "_tabular/src/PKG/schemas.py.j2", "max_length=256", "max_length=128")
    (templates / "sklearn" / "CHANGELOG.md.j2").write_text("# {{ name }} changes\n")
    (templates / "_common" / ".dockerignore").unlink()

    report = generator.update(project, templates)
    assert (report.old_version, report.new_version) == ("1.0.0", "1.1.0")
    readme = (project / "README.md").read_text()
    assert "Owned by team A." in readme
    assert "Scan it." in readme
    assert "README.md" in report.merged
    assert report.conflicts == ["src/svc/schemas.py"]
    text = schemas.read_text()
    assert "<<<<<<< src/svc/schemas.py (yours)" in text
    assert "max_length=512" in text
    assert "max_length=128" in text
    assert report.added == ["CHANGELOG.md"]
    assert (project / "CHANGELOG.md").read_text() == "# svc changes\n"
    assert report.removed == [".dockerignore"]
    assert not (project / ".dockerignore").exists()
    assert (project / "src/svc/extra.py").read_text() == "X = 1\n"  # never the template's
    assert json.loads((project / ".mltemplate/answers.json").read_text())["version"] == "1.1.0"
    # A second update with nothing new in the template changes nothing.
    again = generator.update(project, templates)
    assert (again.updated, again.merged, again.conflicts) == ([], [], [])


def test_update_of_something_not_generated_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MltemplateError, match="was not generated by mltemplate"):
        generator.update(tmp_path)
