"""A Kubernetes API on loopback for operators and clients: kmock plus a shim, and a kubeconfig.

No kube-apiserver can be installed on the course machines (it ships only as binaries from the
Kubernetes release site or inside k3s/kind/envtest, which download them). The faithful
substitute is **kmock** (a Kubernetes API emulator by Kopf's author), run by
:mod:`aiinfra_shared.services.kmock_server` with a shim that adds what operators need (object
metadata, JSON patches, CRD registration, watch-from-version). Its docstring lists what a real
API server does that the emulator does not: no schema validation, admission, RBAC, garbage
collection by owner references, and no controllers (tests drive ``status`` themselves).

The service's ``env`` sets ``KUBECONFIG`` to a kubeconfig for it (context ``aiinfra-kmock``,
namespace ``default``): the kubernetes client's ``config.load_kube_config()`` and Kopf's
``login_via_client`` pick it up. Run Kopf operators with ``--standalone`` (no peering CRD).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from aiinfra_shared.services.base import (
    LOOPBACK,
    RunningService,
    ServiceNotInstalledError,
    run_service,
    tcp_open,
    workdir_for,
)

INSTALL_HINT = "the k8s extra of aiinfra-shared (kmock, kubernetes)"


def write_kubeconfig(path: Path, url: str, namespace: str = "default") -> Path:
    """A kubeconfig with one cluster (``url``, plain HTTP, a dummy token) and one context."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "aiinfra-kmock", "cluster": {"server": url}}],
        "users": [{"name": "aiinfra-kmock", "user": {"token": "kmock"}}],
        "contexts": [
            {
                "name": "aiinfra-kmock",
                "context": {
                    "cluster": "aiinfra-kmock",
                    "user": "aiinfra-kmock",
                    "namespace": namespace,
                },
            }
        ],
        "current-context": "aiinfra-kmock",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextmanager
def k8s(
    *, port: int | None = None, workdir: Path | str | None = None, timeout: float = 30.0
) -> Iterator[RunningService]:
    """Start the emulator on ``port`` (a free one by default) and write its kubeconfig.

    Yields:
        The service: ``url`` is the API server (``http://127.0.0.1:PORT``), ``env`` sets
        ``KUBECONFIG``, ``extra["kubeconfig"]`` is the file.

    Raises:
        ServiceNotInstalledError: kmock is not installed.
    """
    import importlib.util

    if importlib.util.find_spec("kmock") is None:
        raise ServiceNotInstalledError(f"kmock is not installed; install {INSTALL_HINT}")
    with workdir_for("k8s", workdir) as wd:
        kubeconfig = wd / "kubeconfig.yaml"
        with run_service(
            "k8s",
            argv=lambda p: [
                sys.executable,
                "-m",
                "aiinfra_shared.services.kmock_server",
                "--port",
                str(p),
            ],
            ready=lambda p: tcp_open(LOOPBACK, p),
            url=lambda p: f"http://{LOOPBACK}:{p}",
            client_env=lambda _p: {"KUBECONFIG": str(kubeconfig)},
            workdir=wd,
            port=port,
            timeout=timeout,
            extra={"kubeconfig": str(kubeconfig)},
        ) as service:
            write_kubeconfig(kubeconfig, service.url)
            yield service
