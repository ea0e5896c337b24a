"""The ``envmgr`` command as a user runs it: a subprocess, JSON for scripts, one line and a
non-zero exit for every mistake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from envmgr.backends import backend

pytestmark = pytest.mark.integration


def envmgr(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENVMGR_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "envmgr", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False, env=env)  # fmt: skip


def _one_line_error(done: subprocess.CompletedProcess[str], rc: int = 1) -> str:
    assert done.returncode == rc, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def test_create_check_list_remove_as_a_script_would(tmp_path: Path, index_url: str) -> None:
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    (project / "envmgr.toml").write_text(
        f'name = "svc"\nindex_url = "{index_url}"\ndependencies = ["acme-model>=2"]\n'
    )
    done = envmgr("create", "--json", cwd=project, home=home)
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["path"] == str(home / "envs" / "svc")
    assert (project / "envmgr.lock").is_file()

    done = envmgr("check", "--json", cwd=project, home=home)  # the name comes from the spec
    assert (done.returncode, json.loads(done.stdout)["ok"]) == (0, True)
    subprocess.run([sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python",
                    f"{created['path']}/bin/python", "--index-url", index_url, "stray-tool"],
                   check=True)  # fmt: skip
    done = envmgr("check", "svc", cwd=tmp_path, home=home)
    assert done.returncode == 1
    assert "not in the lock: stray-tool==0.1.0" in done.stdout
    assert envmgr("sync", "svc", cwd=tmp_path, home=home).returncode == 0
    assert envmgr("check", "svc", cwd=tmp_path, home=home).returncode == 0

    rows = json.loads(envmgr("list", "--json", cwd=tmp_path, home=home).stdout)
    assert [(r["name"], r["backend"], r["exists"]) for r in rows] == [("svc", "uv", True)]
    assert envmgr("remove", "svc", cwd=tmp_path, home=home).returncode == 0
    assert json.loads(envmgr("list", "--json", cwd=tmp_path, home=home).stdout) == []
    assert not Path(created["path"]).exists()


@pytest.mark.parametrize(
    ("spec", "args", "expected"),
    [
        ('name = "x"\nbogus = 1\n', ["create"], "envmgr.toml:2: bogus: unknown key"),
        ('name = "x"\ndependencies = ["a>>1"]\n', ["create"], "is not a valid requirement"),
        ('name = "x"\npython = "3.99"\n', ["create"], "Python 3.99 is not installed here"),
        ('name = "x"\n', ["create", "--backend", "pipenv"], "backend"),
        ('name = "x"\n', ["check", "nothere"], "no environment named 'nothere'"),
        ('name = "x"\n', ["check"], "no environment named 'x'"),
        (None, ["check"], "no envmgr.toml"),
        (None, ["export"], "no envmgr.toml"),
        ('name = "x"\n', ["export"], "no lock file; run `envmgr lock` first"),
        ('name = "x"\n', ["check", "x", "--advisories", "missing.json"], "no environment"),
        ('name = "x"\n', ["demo", "--backend", "nope"], "unknown backend 'nope'"),
    ],
)
def test_every_mistake_is_one_line_and_a_failing_exit(
    tmp_path: Path, spec: str | None, args: list[str], expected: str
) -> None:
    if spec is not None:
        (tmp_path / "envmgr.toml").write_text(spec)
    message = _one_line_error(envmgr(*args, cwd=tmp_path, home=tmp_path / "home"))
    assert expected in message
    assert not (tmp_path / "home" / "envs").exists()


def test_a_conflict_is_the_resolvers_explanation_and_leaves_no_environment(
    tmp_path: Path, index_url: str
) -> None:
    (tmp_path / "envmgr.toml").write_text(
        f'name = "x"\nindex_url = "{index_url}"\n'
        'dependencies = ["acme-features==1.0.0", "acme-features==1.1.0"]\n'
    )
    message = _one_line_error(envmgr("create", cwd=tmp_path, home=tmp_path / "home"))
    assert "uv's resolver failed" in message
    assert "unsatisfiable" in message
    assert list((tmp_path / "home").glob("envs/*")) == []


def test_usage_errors_exit_2_in_one_line(tmp_path: Path) -> None:
    for args in (["--bogus"], ["nosuchcommand"], ["demo", "--no-such-option"]):
        _one_line_error(envmgr(*args, cwd=tmp_path, home=tmp_path / "home"), rc=2)


def test_doctor_reports_each_backend_as_it_is(tmp_path: Path) -> None:
    done = envmgr("doctor", "--json", cwd=tmp_path, home=tmp_path / "home")
    rows = {(r["kind"], r["name"]): r for r in json.loads(done.stdout)}
    for name in ("venv", "uv", "poetry", "conda"):
        status = "ok" if backend(name).available()[0] else "missing"
        assert rows[("backend", name)]["status"] == status
    assert rows[("backend", "uv")]["status"] == "ok"  # uv is a dependency of envmgr
    assert rows[("tool", "hadolint")]["status"] == "ok"
    assert any(kind == "python" for kind, _ in rows)


def test_the_demo_runs_offline_end_to_end(tmp_path: Path) -> None:
    done = envmgr("demo", "--workdir", str(tmp_path / "demo"), cwd=tmp_path,
                  home=tmp_path / "home")  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "not in the lock: stray-tool==0.1.0" in out
    assert "ok after sync: True" in out
    assert "`envmgr lock` keeps 1.0.0" in out
    assert "-> 1.1.0" in out
    assert "hadolint: clean" in out
