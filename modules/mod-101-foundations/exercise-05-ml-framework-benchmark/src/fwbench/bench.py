"""Run the benchmark: probe the frameworks, measure each pair in its own worker, save JSON.

The result document (schema ``fwbench/1``) keeps every raw sample, the environment and one
entry per requested (framework, model) pair whose ``status`` is ``ok``, ``error`` (with the
message) or ``not-installed`` (with the reason): a pair that was not measured has no numbers.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiinfra_shared import reports
from fwbench import measure
from fwbench.config import Profile
from fwbench.errors import ConfigError, ReportError
from fwbench.models_torch import MODELS
from fwbench.runners import FRAMEWORKS

SCHEMA = "fwbench/1"
#: Reported in every result even when not requested: the frameworks fwbench knows of but
#: does not measure (with the reason). Empty: every known framework can be measured.
REPORTED_ONLY: tuple[str, ...] = ()
_IMPORTS = {
    "torch": ("torch",),
    "torch-compile": ("torch",),
    "jax": ("jax", "equinox", "optax"),
    "tensorflow": ("tensorflow", "keras"),
}
_VERSION_FROM = {
    "torch": ("torch",),
    "torch-compile": ("torch",),
    "jax": ("jax",),
    "tensorflow": ("tensorflow-cpu", "tensorflow"),
}
_DISTS = (
    "torch",
    "jax",
    "jaxlib",
    "equinox",
    "optax",
    "numpy",
    "tensorflow-cpu",
    "tensorflow",
    "keras",
)

Progress = Callable[[str], None]


def parse_list(text: str, allowed: Sequence[str], what: str) -> list[str]:
    """``"torch,jax"`` -> ``["torch", "jax"]``; ``"all"`` -> every allowed name.

    Raises:
        ConfigError: empty, or a name not in ``allowed``.
    """
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list(allowed)
    if not names:
        raise ConfigError(f"no {what} given; choose from {', '.join(allowed)}")
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ConfigError(f"unknown {what} {', '.join(unknown)}; choose from {', '.join(allowed)}")
    return list(dict.fromkeys(names))


def parse_cpus(text: str | None, threads: int | None) -> tuple[list[int], int]:
    """The CPUs to pin the workers to and their thread count.

    ``text`` is a list such as ``"0,1"`` or ``"0-3"``; by default the first ``threads`` CPUs this
    process may use (all of them when ``threads`` is not given).

    Raises:
        ConfigError: a malformed list, a CPU this process may not use, or a thread count
            outside ``1..len(cpus)``.
    """
    available = measure.affinity()
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads {threads}: must be 1 or more")
    if text is not None:
        cpus: list[int] = []
        try:
            for part in text.split(","):
                lo, _, hi = part.strip().partition("-")
                cpus.extend(range(int(lo), int(hi or lo) + 1))
        except ValueError:
            raise ConfigError(f"--cpus {text!r}: expected a list like 0,1 or 0-3") from None
        bad = sorted(set(cpus) - set(available))
        if bad or not cpus:
            raise ConfigError(
                f"--cpus {text!r}: CPU {bad} not available here (this process may use {available})"
            )
        cpus = sorted(set(cpus))
    else:
        cpus = available[: threads or len(available)]
    threads = threads or len(cpus)
    if not 1 <= threads <= len(cpus):
        raise ConfigError(f"--threads {threads}: must be between 1 and the {len(cpus)} pinned CPUs")
    return cpus, threads


def _installed_version(framework: str) -> str | None:
    for dist in _VERSION_FROM[framework]:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def probe(framework: str) -> dict[str, Any]:
    """Whether ``framework`` can be measured here: ``available``, ``version``, ``reason``.

    The frameworks are looked up, not imported (TensorFlow takes seconds to import): a
    framework that is installed but fails to import is reported by its worker as an error.
    """
    info: dict[str, Any] = {"name": framework, "available": False, "version": None, "reason": None}
    for module in _IMPORTS[framework]:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # ValueError: a module blocked in sys.modules
            found = False
        if not found:
            info["reason"] = f"not installed: no module named {module!r}"
            if framework in ("jax", "tensorflow"):
                info["reason"] += f"; install the extra: pip install 'aiinfra-fwbench[{framework}]'"
            return info
    info["version"] = _installed_version(framework)
    if framework == "torch-compile" and not (shutil.which("g++") or shutil.which("c++")):
        info["reason"] = "torch.compile (Inductor) needs a C++ compiler on CPU; none on PATH"
        return info
    info["available"] = True
    return info


def environment(cpus: list[int], threads: int, device: str) -> dict[str, Any]:
    """The facts a reader needs to reproduce the numbers."""
    versions = {}
    for dist in _DISTS:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": measure.cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus": cpus,
        "threads": threads,
        "device": device,
        "versions": versions,
        "env": {k: os.environ.get(k, "") for k in ("OMP_NUM_THREADS", "XLA_FLAGS")},
    }


def worker_spec(
    framework: str, model: str, profile: Profile, cpus: list[int], threads: int, device: str
) -> dict[str, Any]:
    """What one worker measures (the JSON it reads)."""
    return {
        "framework": framework,
        "model": model,
        "profile": profile.model_dump(),
        "cpus": cpus,
        "threads": threads,
        "device": device,
        "seed": 0,
    }


def run_worker(spec: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Measure one pair in a fresh ``python -m fwbench.worker``; failures become ``error``."""
    env = os.environ | {
        "OMP_NUM_THREADS": str(spec["threads"]),
        "MKL_NUM_THREADS": str(spec["threads"]),
        "JAX_PLATFORMS": "cuda" if spec["device"] == "cuda" else "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow's C++ INFO lines on stderr
        "KERAS_BACKEND": "tensorflow",
    }
    if spec["threads"] == 1:  # XLA's CPU backend: no Eigen thread pool for one thread
        env["XLA_FLAGS"] = (
            env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
        ).strip()
    with tempfile.TemporaryDirectory(prefix="fwbench-") as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec_path.write_text(json.dumps(spec))
        base = {"framework": spec["framework"], "model": spec["model"], "device": spec["device"]}
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "fwbench.worker", str(spec_path), str(out_path)],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return base | {"status": "error", "error": f"stopped after {timeout_s:.0f} s"}
        if out_path.exists():
            result: dict[str, Any] = json.loads(out_path.read_text())
            return result
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or ["no output"]
        return base | {"status": "error", "error": f"worker exited {proc.returncode}: {tail[0]}"}


def run(
    frameworks: Sequence[str],
    models: Sequence[str],
    profile: Profile,
    *,
    cpus: list[int],
    threads: int,
    device: str = "cpu",
    timeout_s: float = 900.0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Measure every requested (framework, model) pair; the result document.

    Args:
        frameworks: Names from :data:`~fwbench.runners.FRAMEWORKS`.
        models: Names from :data:`~fwbench.models_torch.MODELS`.
        profile: How much to measure (:data:`~fwbench.config.QUICK` or ``FULL``).
        cpus: CPUs every worker is pinned to.
        threads: Intra-op threads of every worker.
        device: ``cpu`` or ``cuda``.
        timeout_s: Seconds one worker may take.
        progress: Called with a label before each pair.
    """
    unknown = [f for f in frameworks if f not in FRAMEWORKS] + [
        m for m in models if m not in MODELS
    ]
    if unknown:
        raise ConfigError(f"unknown framework or model: {', '.join(unknown)}")
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"device {device!r}: expected cpu or cuda")
    probes = {name: probe(name) for name in (*frameworks, *REPORTED_ONLY)}
    results: list[dict[str, Any]] = []
    for framework in frameworks:
        for model in models:
            if progress:
                progress(f"{framework} / {model}")
            info = probes[framework]
            if not info["available"]:
                results.append(
                    {
                        "framework": framework,
                        "model": model,
                        "device": device,
                        "status": "not-installed",
                        "reason": info["reason"],
                    }
                )
                continue
            spec = worker_spec(framework, model, profile, cpus, threads, device)
            results.append(run_worker(spec, timeout_s))
    return {
        "schema": SCHEMA,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "profile": profile.model_dump(),
        "environment": environment(cpus, threads, device),
        "frameworks": list(probes.values()),
        "results": results,
    }


def save(doc: dict[str, Any], path: Path) -> Path:
    """Write ``doc`` as JSON (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1))
    return path


def load(path: Path) -> dict[str, Any]:
    """Read a result document written by :func:`save`.

    Raises:
        ReportError: missing, not JSON, or not an ``fwbench/1`` document.
    """
    doc = reports.load_results(
        path,
        SCHEMA,
        ("profile", "environment", "frameworks", "results"),
        ReportError,
        "fwbench run",
    )
    if not isinstance(doc["results"], list):
        raise ReportError(f"{path}: 'results' is not a list")
    return doc
