from __future__ import annotations

import json
import shutil
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiinfra_shared import guides, scaffold, workspace
from aiinfra_shared.cli import app
from aiinfra_shared.errors import AiinfraError

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def tiny_workspace(tmp_path: Path) -> Path:
    """A workspace with only the root pyproject: what `aiinfra new` starts from."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.uv.workspace]\nmembers = ["modules/*/*", "projects/*"]\n'
    )
    return tmp_path


def test_discover_reads_the_real_repository() -> None:
    members = {m.id: m for m in workspace.discover(REPO)}
    assert members["101-07"].dist == "aiinfra-mlapi"
    assert members["101-07"].import_name == "mlapi"
    assert members["shared"].kind == "library"
    assert all(workspace.problems(m, REPO) == [] for m in members.values())


def test_lanes_balance_by_weight_and_are_stable() -> None:
    weights = {"a": 10.0, "b": 6.0, "c": 5.0, "d": 1.0}
    lane_of = workspace.lanes(weights, 2)
    assert lane_of == {"a": 1, "b": 2, "c": 2, "d": 1}
    assert workspace.lanes(dict(reversed(weights.items())), 2) == lane_of
    assert set(workspace.lanes(weights, 1).values()) == {1}
    with pytest.raises(ValueError, match="at least 1"):
        workspace.lanes(weights, 0)


def test_test_seconds_is_read_and_checked(tiny_workspace: Path) -> None:
    package = tiny_workspace / "pkg"
    package.mkdir()
    pyproject = package / "pyproject.toml"
    head = '[project]\nname = "aiinfra-demo"\n[tool.aiinfra]\nid = "101-01"\ntitle = "t"\n'
    pyproject.write_text(head)
    assert workspace.load_member(package).test_seconds == workspace.DEFAULT_TEST_SECONDS
    pyproject.write_text(head + "test-seconds = 42\n")
    assert workspace.load_member(package).test_seconds == 42.0
    pyproject.write_text(head + 'test-seconds = "slow"\n')
    with pytest.raises(workspace.WorkspaceError, match="test-seconds must be a positive number"):
        workspace.load_member(package)


def test_demo_services_default_to_the_services_and_can_be_none() -> None:
    members = {m.id: m for m in workspace.discover(REPO)}
    assert members["106-04"].demo_services == members["106-04"].services == ("mlflow",)
    # These demos start their own configured instance: aiinfra run must not start a second.
    for exercise in ("104-06", "106-05", "108-02", "204"):
        assert members[exercise].services
        assert members[exercise].demo_services == ()


def test_lookup_by_id_or_short_name_and_unknown_ids() -> None:
    assert workspace.lookup("mlapi", REPO).id == "101-07"
    with pytest.raises(workspace.WorkspaceError, match=r"known ids: .*\b101-07\b"):
        workspace.lookup("999-99", REPO)


def test_find_root_outside_the_repo_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIINFRA_ROOT", raising=False)
    with pytest.raises(workspace.WorkspaceError, match="not inside the aiinfra-solutions"):
        workspace.find_root(tmp_path)


def test_scaffold_creates_a_package_that_passes_the_layout_checks(tiny_workspace: Path) -> None:
    created = scaffold.create(
        tiny_workspace,
        exercise_id="101-04",
        folder="modules/mod-101-foundations/exercise-04-env",
        short="envmgr",
        title="Environment manager",
    )
    member = workspace.load_member(created)
    assert (member.id, member.dist, member.demo) == ("101-04", "aiinfra-envmgr", ("envmgr", "demo"))
    assert workspace.problems(member, tiny_workspace) == []
    data = tomllib.loads((created / "pyproject.toml").read_text())
    assert data["project"]["scripts"] == {"envmgr": "envmgr.cli:main"}
    assert "class EnvmgrError(AiinfraError)" in (created / "src/envmgr/errors.py").read_text()
    cli = (created / "src/envmgr/cli.py").read_text()
    compile(cli, "cli.py", "exec")
    assert "package_app(" in cli  # the house scaffold, not a hand-made Typer app
    assert (created / "src/envmgr/__main__.py").is_file()
    guide = guides.parse(created / "docs/STEP_BY_STEP.md")
    assert guide.checkpoints
    assert guide.steps_without_checkpoint() == []


def test_a_long_title_is_wrapped_so_the_new_package_passes_ruff(tiny_workspace: Path) -> None:
    title = ("FastAPI template generator: three golden-path service templates, answers file "
             "and three-way update")  # fmt: skip
    created = scaffold.create(tiny_workspace, exercise_id="101-06",
                              folder="modules/mod-101-foundations/exercise-06-gen",
                              short="mltemplate", title=title)  # fmt: skip
    for rel in ("src/mltemplate/__init__.py", "src/mltemplate/cli.py"):
        text = (created / rel).read_text()
        assert max(len(line) for line in text.splitlines()) <= 100, rel
        compile(text, rel, "exec")
    namespace: dict[str, object] = {}
    exec(compile((created / "src/mltemplate/__init__.py").read_text(), "init", "exec"), namespace)  # noqa: S102
    assert " ".join(str(namespace["__doc__"]).split()) == f"101-06: {title}"
    assert "three-way" in (created / "src/mltemplate/cli.py").read_text()  # not split at "-"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"exercise_id": "1-7"}, "id must look like"),
        ({"short": "Bad-Name"}, "short name"),
        ({"folder": "elsewhere/x"}, "folder must be under"),
        ({"folder": "modules/mod-1/../../x"}, "folder must be under"),
    ],
)
def test_scaffold_rejects_bad_arguments(
    tiny_workspace: Path, kwargs: dict[str, str], message: str
) -> None:
    args = {
        "exercise_id": "101-04",
        "folder": "modules/mod-101-x/exercise-04-y",
        "short": "envmgr",
        "title": "t",
        **kwargs,
    }
    with pytest.raises(AiinfraError, match=message):
        scaffold.create(tiny_workspace, **args)


def test_scaffold_refuses_a_taken_id_or_name(tiny_workspace: Path) -> None:
    scaffold.create(
        tiny_workspace, exercise_id="101-04", folder="modules/mod-1/a", short="one", title="t"
    )
    with pytest.raises(AiinfraError, match="already uses id 101-04"):
        scaffold.create(
            tiny_workspace, exercise_id="101-04", folder="modules/mod-1/b", short="two", title="t"
        )
    with pytest.raises(AiinfraError, match="already uses"):
        scaffold.create(
            tiny_workspace, exercise_id="101-05", folder="modules/mod-1/c", short="one", title="t"
        )


def test_cli_list_json_and_markdown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIINFRA_ROOT", str(REPO))
    rows = json.loads(runner.invoke(app, ["list", "--json"]).output)
    assert [row["id"] for row in rows] == sorted(
        (row["id"] for row in rows), key=lambda i: [int(p) for p in i.split("-")]
    )  # in curriculum order
    mlapi = next(row for row in rows if row["id"] == "101-07")
    assert mlapi["package"] == "aiinfra-mlapi"
    markdown = runner.invoke(app, ["list", "--markdown"]).output
    assert markdown.startswith("| id | package |")
    assert "| 101-07 | `aiinfra-mlapi` |" in markdown


def test_cli_new_then_list(tiny_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIINFRA_ROOT", str(tiny_workspace))
    result = runner.invoke(
        app,
        [
            "new",
            "203",
            "projects/project-203-multi-region",
            "--short",
            "multiregion",
            "--title",
            "Multi-region",
        ],
    )
    assert result.exit_code == 0, result.output
    listed = json.loads(runner.invoke(app, ["list", "--json"]).output)
    assert [row["id"] for row in listed] == ["203"]


def test_cli_user_mistakes_are_one_line(
    tiny_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIINFRA_ROOT", str(tiny_workspace))
    shutil.rmtree(tiny_workspace / "modules", ignore_errors=True)
    result = runner.invoke(app, ["run", "101-07"])
    assert result.exit_code != 0
    assert isinstance(result.exception, workspace.WorkspaceError)
    assert "known ids: none yet" in str(result.exception)


def test_run_passes_the_demos_own_options_through(
    tiny_workspace: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # `aiinfra run <id> -- --workdir x` must reach the demo, not demo-here's own parser.
    package = tiny_workspace / "modules" / "mod-999-echo" / "exercise-01-argv"
    package.mkdir(parents=True)
    (package / "pyproject.toml").write_text(
        '[project]\nname = "aiinfra-argv"\n\n[tool.aiinfra]\nid = "999-01"\ntitle = "argv"\n'
        'demo = ["python", "-c", "import sys; print(sys.argv[1:])"]\n'
    )
    venv_bin = tiny_workspace / ".venvs" / "argv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (venv_bin / "python").chmod(0o755)
    monkeypatch.setenv("AIINFRA_ROOT", str(tiny_workspace))
    result = runner.invoke(app, ["run", "999-01", "--no-sync", "--", "--workdir", "x", "-k", "3"])
    assert result.exit_code == 0, capfd.readouterr().err
    assert "['--workdir', 'x', '-k', '3']" in capfd.readouterr().out
