"""The spec: what is accepted, and that every mistake names its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from envmgr.errors import SpecError
from envmgr.spec import ACCELERATOR_INDEX, find_spec, load_spec


def _write(tmp_path: Path, text: str, name: str = "envmgr.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_spec_with_groups_gives_the_requirements_asked_for(tmp_path: Path) -> None:
    text = 'name = "churn"\ndependencies = ["pandas[parquet]>=2.2"]\n'
    text += '[groups]\ntest = ["pytest>=8"]\ndev = ["ruff"]\n'
    spec = load_spec(_write(tmp_path, text))
    assert spec.backend == "uv"
    assert spec.accelerator == "cpu"
    assert spec.requirements(()) == ["pandas[parquet]>=2.2"]
    assert spec.requirements(("test",)) == ["pandas[parquet]>=2.2", "pytest>=8"]
    assert spec.requirements() == ["pandas[parquet]>=2.2", "pytest>=8", "ruff"]
    with pytest.raises(SpecError, match=r"unknown group.*docs.*the spec has: test, dev"):
        spec.requirements(("docs",))


def test_a_pyproject_table_takes_the_projects_name_and_dependencies(tmp_path: Path) -> None:
    path = _write(tmp_path, '[project]\nname = "Churn-Model"\ndependencies = ["numpy>=2"]\n'
                            '[tool.envmgr]\npython = "3.11"\nbackend = "venv"\n',
                  "pyproject.toml")  # fmt: skip
    assert find_spec(tmp_path) == path
    spec = load_spec(path)
    assert (spec.name, spec.backend, spec.dependencies) == ("churn-model", "venv", ("numpy>=2",))
    _write(tmp_path, '[project]\nname = "x"\n', "pyproject.toml")
    with pytest.raises(SpecError, match=r"no envmgr.toml \(or pyproject.toml"):
        find_spec(tmp_path)


def test_an_unknown_key_and_a_bad_requirement_name_their_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, 'name = "ok"\n\nbakend = "uv"\ndependencies = [\n  "numpy>=2",\n'
                            '  "pandas>>2",\n]\n')  # fmt: skip
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert f"{path}:3: bakend: unknown key 'bakend'" in message
    assert (
        f"{path}:6: dependencies: dependencies[1]: 'pandas>>2' is not a valid requirement"
        in message
    )
    assert "\n" not in message


def test_broken_toml_a_missing_file_and_bad_values_are_clear(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"not valid TOML: .*line 2"):
        load_spec(_write(tmp_path, 'name = "a"\nbackend = uv\n'))
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "nope.toml")
    bad = {'python = "3"': "python", 'backend = "pipenv"': "backend",
           'accelerator = "rocm"': "accelerator", 'index_url = "pypi.org"': "index URL",
           'name = "Has Space"': "name"}  # fmt: skip
    for line, word in bad.items():
        text = f'name = "x"\n{line}\n' if not line.startswith("name") else line + "\n"
        with pytest.raises(SpecError, match=word):
            load_spec(_write(tmp_path, text))


def test_torch_brings_the_accelerators_index_and_nothing_else_does(tmp_path: Path) -> None:
    plain = load_spec(_write(tmp_path, 'name = "a"\ndependencies = ["numpy"]\n'))
    assert plain.indexes().extra == ()
    gpu = load_spec(_write(tmp_path, 'name = "a"\naccelerator = "cuda"\n'
                                     'index_url = "https://mirror.example/simple"\n'
                                     'dependencies = ["torch>=2.4"]\n'))  # fmt: skip
    assert gpu.indexes().extra == (ACCELERATOR_INDEX["cuda"],)
    assert gpu.indexes().pip_args() == ["--index-url", "https://mirror.example/simple",
                                        "--extra-index-url", ACCELERATOR_INDEX["cuda"]]  # fmt: skip
