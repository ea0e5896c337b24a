"""What a generated project must survive: a fresh virtual environment, an install, its own
tests, and being served by uvicorn and called over HTTP. The demo and the tests use these.

Environments are made with uv (fast, and its cache makes the second one nearly free). A
PyTorch project gets torch from a local wheel when pip's ``find-links`` folder has one (the
course machines: no CUDA download, no network), otherwise from the CPU index its
``pyproject.toml`` names.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from aiinfra_shared.services import RunningService, http_process
from mltemplate.errors import MltemplateError

API_KEY = "demo-key"


def _uv() -> str:
    path = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(path).exists():
        raise MltemplateError("uv is needed to build the project's environment (pip install uv)")
    return path


def _run(cmd: list[str], what: str, cwd: Path | None = None, timeout: float = 600) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise MltemplateError(f"{what} failed: {tail}")
    return done.stdout


def local_torch_wheel() -> Path | None:
    """A torch wheel for this Python in pip's find-links folder(s), if any."""
    folders = os.environ.get("PIP_FIND_LINKS", "").split()
    if not folders:
        try:
            out = subprocess.run([sys.executable, "-m", "pip", "config", "get",
                                  "global.find-links"], capture_output=True, text=True,
                                 timeout=30, check=False).stdout  # fmt: skip
            folders = out.split()
        except (OSError, subprocess.TimeoutExpired):
            folders = []
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    for folder in folders:
        wheels = sorted(Path(folder.removeprefix("file://")).glob(f"torch-*-{tag}-*.whl"))
        if wheels:
            return wheels[-1]
    return None


def install(project: Path) -> Path:
    """A fresh ``.venv`` in the project with it installed (tests extra); its python."""
    uv = _uv()
    venv = project / ".venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], "uv venv")
    python = venv / "bin" / "python"
    answers = json.loads((project / ".mltemplate" / "answers.json").read_text())
    extra: list[str] = []
    if answers["template"] == "pytorch" and (wheel := local_torch_wheel()):
        _run([uv, "pip", "install", "--quiet", "--python", str(python), str(wheel)],
             "installing torch")  # fmt: skip
        extra = ["--no-sources"]  # torch is there already: do not look at PyTorch's index
    _run([uv, "pip", "install", "--quiet", "--python", str(python), *extra, "-e", ".[test]"],
         "installing the project", cwd=project)  # fmt: skip
    return python


def run_tests(project: Path, python: Path) -> str:
    """The project's own test suite; its summary line.

    Raises:
        MltemplateError: A test failed (the last lines of pytest's output say which).
    """
    out = _run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], "pytest",
               cwd=project)  # fmt: skip
    return out.strip().splitlines()[-1]


@contextmanager
def serve(project: Path, python: Path) -> Iterator[RunningService]:
    """The project under uvicorn on a free loopback port, ready (``/ready`` answers 200);
    an LLM gateway gets the fake upstream from its tests as its upstream."""
    answers = json.loads((project / ".mltemplate" / "answers.json").read_text())
    package = answers["name"].replace("-", "_")
    prefix = package.upper() + "_"
    env = {f"{prefix}API_KEYS": API_KEY, f"{prefix}MODEL_PATH": str(project / "artifacts" / "m")}
    uvicorn = [str(python), "-m", "uvicorn", "--host", "127.0.0.1"]
    with ExitStack() as stack:
        if answers["template"] == "llm-gateway":
            upstream = stack.enter_context(http_process(
                "upstream", lambda p: [*uvicorn, "--app-dir", str(project / "tests"),
                                       "fake_upstream:app", "--port", str(p)],
                health_path="/docs", workdir=project / ".serve-upstream"))  # fmt: skip
            env[f"{prefix}UPSTREAM_URL"] = upstream.url
        yield stack.enter_context(http_process(
            package, lambda p: [*uvicorn, f"{package}.app:create_app", "--factory", "--port",
                                str(p)],
            health_path="/ready", env=env, workdir=project / ".serve", timeout=120))  # fmt: skip


def example_request(template: str) -> tuple[str, dict[str, object]]:
    """A request the template's predict route accepts."""
    if template == "llm-gateway":
        return "/predict/batch", {"prompts": ["hello", "world"]}
    return "/predict/batch", {"instances": [{"features": [0.1, -0.2, 0.3, 0.0]},
                                            {"features": [2.0, 1.0, -1.0, 0.5]}]}  # fmt: skip
