"""The backends: each creates an environment, resolves a lock and syncs it with a real tool.

| backend | creates with | resolves with | syncs with |
|---|---|---|---|
| ``venv`` | ``python -m venv`` | ``pip install --dry-run --report`` (pip's resolver) | pip |
| ``uv`` | ``uv venv`` | ``uv pip compile --generate-hashes`` | ``uv pip sync`` |
| ``poetry`` | ``python -m venv`` | ``poetry lock`` (poetry's resolver), read back | pip |
| ``conda`` | ``conda create --prefix`` | pip's resolver, inside the conda env | pip |

Every backend writes the same lock format (:mod:`envmgr.lockfile`), so ``check`` and
``export`` do not care which one made it. "Sync" is exact: what the lock pins is installed
with its hashes checked, and whatever else is installed is removed.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import tomllib
from abc import ABC, abstractmethod
from pathlib import Path

from packaging.utils import canonicalize_name

from envmgr.errors import EnvmgrError, ToolError
from envmgr.lockfile import read_lock, stamp, write_lock
from envmgr.spec import Indexes
from envmgr.tools import Python, env_python, executable, run, tool_version

#: Installed in every environment by its creator; never "drift", never removed by a sync.
SEEDED = frozenset({"pip", "setuptools", "wheel"})

_INVENTORY = (
    "import json, importlib.metadata as m\n"
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions() "
    "if d.metadata['Name']}))"
)


def installed(env_dir: Path) -> dict[str, str]:
    """Canonical name -> version of every distribution in the environment."""
    out = run([str(env_python(env_dir)), "-c", _INVENTORY], what="reading the environment")
    return {canonicalize_name(k): v for k, v in json.loads(out).items()}


class Backend(ABC):
    """One way of building environments."""

    name: str
    tool: str  # the executable it needs

    def available(self) -> tuple[bool, str]:
        """(present, version or why not)."""
        path = executable(self.tool)
        if path is None:
            return False, f"{self.tool} not found (beside envmgr or on PATH)"
        version = tool_version([path, "--version"])
        return (True, version) if version else (False, f"{path} --version failed")

    def require(self) -> str:
        """The tool's path.

        Raises:
            EnvmgrError: The tool is missing.
        """
        ok, detail = self.available()
        if not ok:
            raise EnvmgrError(f"backend {self.name}: {detail}")
        path = executable(self.tool)
        assert path is not None
        return path

    @abstractmethod
    def create(self, env_dir: Path, python: Python) -> None:
        """A new, empty environment at ``env_dir``."""

    @abstractmethod
    def resolve(self, env_dir: Path, requirements: list[str], indexes: Indexes,
                lock_path: Path, header: dict[str, str], upgrade: list[str]) -> None:  # fmt: skip
        """Write a hash-checked lock for ``requirements`` (for the env's Python)."""

    def sync(self, env_dir: Path, lock_path: Path) -> None:
        """Install exactly the lock (pip, hashes required), then remove everything else."""
        lock = read_lock(lock_path)
        run([str(env_python(env_dir)), "-m", "pip", "install", "--quiet", "--require-hashes",
             "--no-deps", "-r", str(lock_path)], what="pip install of the lock")  # fmt: skip
        extra = sorted(set(installed(env_dir)) - set(lock.pins) - SEEDED)
        if extra:
            run([str(env_python(env_dir)), "-m", "pip", "uninstall", "--yes", *extra],
                what="removing what the lock lacks")  # fmt: skip

    def problems(self, env_dir: Path) -> list[str]:
        """Broken requirements between installed packages (``pip check``)."""
        try:
            run([str(env_python(env_dir)), "-m", "pip", "check"], what="pip check")
        except ToolError as exc:
            return [str(exc).removeprefix("pip check failed: ")]
        return []


def _pip_report_lock(python: Path, requirements: list[str], indexes: Indexes, lock_path: Path,
                     header: dict[str, str], upgrade: list[str]) -> None:  # fmt: skip
    """Resolve with pip's own resolver (``--dry-run --report``) and write the lock.

    pip always picks the newest versions allowed, so the pins of an existing lock are passed
    as constraints (except those in ``upgrade``) to keep them; when the spec changed so that
    they no longer fit, it resolves again without them.
    """
    keep = {}
    if lock_path.is_file():
        moving = {canonicalize_name(p) for p in upgrade}
        try:
            keep = {n: v for n, v in read_lock(lock_path).pins.items() if n not in moving}
        except EnvmgrError:
            keep = {}
    with tempfile.TemporaryDirectory(prefix="envmgr-resolve-") as tmp:
        report = Path(tmp) / "report.json"
        reqs = Path(tmp) / "requirements.in"
        reqs.write_text("\n".join(requirements) + "\n")
        cmd = [str(python), "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
               "--report", str(report), "-r", str(reqs), *indexes.pip_args()]  # fmt: skip
        doc = None
        if keep:
            constraints = Path(tmp) / "constraints.txt"
            constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(keep.items())))
            try:
                run([*cmd, "-c", str(constraints)], what="pip's resolver")
                doc = json.loads(report.read_text())
            except ToolError:
                doc = None  # the old pins no longer fit the spec: resolve afresh
        if doc is None:
            run(cmd, what="pip's resolver")
            doc = json.loads(report.read_text())
    pins: dict[str, tuple[str, list[str]]] = {}
    for item in doc.get("install", []):
        name = canonicalize_name(item["metadata"]["name"])
        info = item.get("download_info", {})
        archive = info.get("archive_info", {})
        hashes = [f"sha256:{v}" for k, v in archive.get("hashes", {}).items() if k == "sha256"]
        if not hashes and archive.get("hash", "").startswith("sha256="):
            hashes = [archive["hash"].replace("=", ":", 1)]
        if not hashes and str(info.get("url", "")).startswith("file://"):
            local = Path(str(info["url"])[len("file://") :])
            hashes = [f"sha256:{hashlib.sha256(local.read_bytes()).hexdigest()}"]
        pins[name] = (item["metadata"]["version"], hashes)
    write_lock(lock_path, header, pins, indexes)


class VenvBackend(Backend):
    """The standard library's venv and pip."""

    name, tool = "venv", "pip"

    def available(self) -> tuple[bool, str]:
        return True, "python -m venv (standard library) + pip"

    def create(self, env_dir: Path, python: Python) -> None:
        run([python.path, "-m", "venv", str(env_dir)], what=f"python{python.version} -m venv")

    def resolve(self, env_dir: Path, requirements: list[str], indexes: Indexes,
                lock_path: Path, header: dict[str, str], upgrade: list[str]) -> None:  # fmt: skip
        _pip_report_lock(env_python(env_dir), requirements, indexes, lock_path, header, upgrade)


class UvBackend(Backend):
    """uv: ``uv venv``, ``uv pip compile --generate-hashes``, ``uv pip sync``."""

    name, tool = "uv", "uv"

    def create(self, env_dir: Path, python: Python) -> None:
        run([self.require(), "venv", "--quiet", "--python", python.path, str(env_dir)],
            what="uv venv")  # fmt: skip

    def resolve(self, env_dir: Path, requirements: list[str], indexes: Indexes,
                lock_path: Path, header: dict[str, str], upgrade: list[str]) -> None:  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="envmgr-resolve-") as tmp:
            reqs = Path(tmp) / "requirements.in"
            reqs.write_text("\n".join(requirements) + "\n")
            out = Path(tmp) / "lock.txt"
            if lock_path.is_file():  # keep the pins the lock has, unless told to upgrade
                out.write_text(lock_path.read_text())
            cmd = [self.require(), "pip", "compile", "--quiet", "--generate-hashes",
                   "--no-header", "--python", str(env_python(env_dir)), str(reqs), "-o", str(out),
                   "--index-strategy", "unsafe-best-match", "--emit-index-url",
                   *indexes.pip_args()]  # fmt: skip
            for package in upgrade:
                cmd += ["--upgrade-package", package]
            run(cmd, what="uv's resolver")
            stamp(out, header)
            out.replace(lock_path)

    def sync(self, env_dir: Path, lock_path: Path) -> None:
        read_lock(lock_path)  # refuses a lock without hashes before uv sees it
        run([self.require(), "pip", "sync", "--quiet", "--require-hashes", "--python",
             str(env_python(env_dir)), str(lock_path)], what="uv pip sync")  # fmt: skip
        extra = sorted(set(installed(env_dir)) - set(read_lock(lock_path).pins) - SEEDED)
        if extra:  # uv keeps its seeded tools; anything else is gone
            raise ToolError(f"uv pip sync left {', '.join(extra)} installed")

    def problems(self, env_dir: Path) -> list[str]:
        try:
            run([self.require(), "pip", "check", "--python", str(env_python(env_dir))],
                what="uv pip check")  # fmt: skip
        except ToolError as exc:
            return [str(exc).removeprefix("uv pip check failed: ")]
        return []


class PoetryBackend(Backend):
    """Poetry's resolver (``poetry lock``); the environment is a venv synced with pip.

    Poetry keeps its own lock (``envmgr.poetry.lock`` beside envmgr's), so ``poetry lock``
    keeps the versions it chose before and ``poetry update --lock PKG`` moves one.
    """

    name, tool = "poetry", "poetry"

    def create(self, env_dir: Path, python: Python) -> None:
        self.require()
        run([python.path, "-m", "venv", str(env_dir)], what=f"python{python.version} -m venv")

    def resolve(self, env_dir: Path, requirements: list[str], indexes: Indexes,
                lock_path: Path, header: dict[str, str], upgrade: list[str]) -> None:  # fmt: skip
        poetry = self.require()
        python = env_python(env_dir)
        with tempfile.TemporaryDirectory(prefix="envmgr-poetry-") as tmp:
            project = Path(tmp)
            version = run([str(python), "-c", "import sys; print(*sys.version_info[:2], sep='.')"],
                          what="python version").strip()  # fmt: skip
            deps = ", ".join(json.dumps(r) for r in requirements)
            # A primary source replaces PyPI (poetry uses PyPI only when none is configured).
            urls = [(indexes.primary, "primary")] if indexes.primary else []
            urls += [(url, "supplemental") for url in indexes.extra]
            sources = "".join(
                f'\n[[tool.poetry.source]]\nname = "index{i}"\nurl = "{url}"\n'
                f'priority = "{priority}"\n'
                for i, (url, priority) in enumerate(urls)
            )
            (project / "pyproject.toml").write_text(
                f'[project]\nname = "envmgr-lock"\nversion = "0"\n'
                f'requires-python = "=={version}.*"\ndependencies = [{deps}]\n'
                f"[tool.poetry]\npackage-mode = false\n{sources}"
            )
            saved = lock_path.with_name("envmgr.poetry.lock")
            if saved.is_file():
                (project / "poetry.lock").write_bytes(saved.read_bytes())
            cmd = [poetry, "update", "--lock", *upgrade] if upgrade else [poetry, "lock"]
            run([*cmd, "--no-interaction"], what="poetry's resolver", cwd=project,
                env={"POETRY_VIRTUALENVS_CREATE": "false"})  # fmt: skip
            text = (project / "poetry.lock").read_text()
            doc = tomllib.loads(text)
            saved.write_text(text)
        pins: dict[str, tuple[str, list[str]]] = {}
        for package in doc.get("package", []):
            hashes = [
                f["hash"] for f in package.get("files", []) if f["hash"].startswith("sha256:")
            ]
            pins[canonicalize_name(package["name"])] = (package["version"], hashes)
        write_lock(lock_path, header, pins, indexes)


class CondaBackend(Backend):
    """A conda (or mamba) environment for the interpreter; pip's resolver and pip sync inside.

    Only where conda or mamba is on PATH; envmgr never installs it.
    """

    name, tool = "conda", "conda"

    def available(self) -> tuple[bool, str]:
        for tool in ("mamba", "conda"):
            path = executable(tool)
            if path:
                self.tool = tool
                version = tool_version([path, "--version"])
                return (True, version) if version else (False, f"{path} --version failed")
        return False, "neither conda nor mamba is on PATH"

    def create(self, env_dir: Path, python: Python) -> None:
        run([self.require(), "create", "--yes", "--quiet", "--prefix", str(env_dir),
             f"python={python.version}", "pip"], what=f"{self.tool} create")  # fmt: skip

    def resolve(self, env_dir: Path, requirements: list[str], indexes: Indexes,
                lock_path: Path, header: dict[str, str], upgrade: list[str]) -> None:  # fmt: skip
        _pip_report_lock(env_python(env_dir), requirements, indexes, lock_path, header, upgrade)

    def sync(self, env_dir: Path, lock_path: Path) -> None:
        # conda's own packages (python, pip, openssl...) are not pip's to remove.
        lock = read_lock(lock_path)
        run([str(env_python(env_dir)), "-m", "pip", "install", "--quiet", "--require-hashes",
             "--no-deps", "-r", str(lock_path)], what="pip install of the lock")  # fmt: skip
        conda_owned = {p.stem.rsplit("-", 2)[0] for p in (env_dir / "conda-meta").glob("*.json")}
        extra = sorted(set(installed(env_dir)) - set(lock.pins) - SEEDED - conda_owned)
        if extra:
            run([str(env_python(env_dir)), "-m", "pip", "uninstall", "--yes", *extra],
                what="removing what the lock lacks")  # fmt: skip


BACKEND_CLASSES: dict[str, type[Backend]] = {
    "venv": VenvBackend, "uv": UvBackend, "poetry": PoetryBackend, "conda": CondaBackend,
}  # fmt: skip


def backend(name: str) -> Backend:
    """A backend by name.

    Raises:
        EnvmgrError: An unknown name.
    """
    if name not in BACKEND_CLASSES:
        raise EnvmgrError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_CLASSES)}")
    return BACKEND_CLASSES[name]()
