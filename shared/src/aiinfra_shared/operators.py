"""What every Kopf operator of this repository does the same way (104-06, 204).

- :func:`configure`: standalone (no peering objects), events for INFO and up, our finalizer
  name, and the kubernetes client configured in-cluster or from ``$KUBECONFIG`` *as it is now*
  (the client fixes its default path when it is imported).
- :func:`login`: Kopf's credentials the same way (a service account in a pod, else
  ``$KUBECONFIG``); register it with ``kopf.on.login()(login)``.
- :func:`run_operator`: what an operator's ``run`` command does.
- :func:`eventually`: poll until something holds (tests and demos wait on the operator).
- :func:`demo_cluster`, :func:`operator_process`: what a demo sets up before its steps.
- :func:`object_lock`: one handler at a time per object (timers run beside change handlers).

Kopf is imported inside the functions: it comes with the ``k8s`` extra.
"""

from __future__ import annotations

import collections
import importlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from aiinfra_shared.errors import AiinfraError


def configure(settings: Any, finalizer: str) -> None:
    """The body of an operator's ``@kopf.on.startup()`` handler."""
    from kubernetes import config

    settings.peering.standalone = True
    settings.posting.level = 20  # logging.INFO: handler progress becomes Kubernetes events
    settings.persistence.finalizer = finalizer
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))  # type: ignore[no-untyped-call]


def login(**kwargs: Any) -> Any:
    """A ``@kopf.on.login()`` handler: service account in a pod, else ``$KUBECONFIG`` now."""
    import kopf

    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


def preflight(crd: dict[str, Any] | None = None, timeout: float = 5.0) -> str:
    """Check, before Kopf starts, that the cluster can be used: the kubeconfig (in-cluster
    or ``$KUBECONFIG``) loads, the API server answers within ``timeout`` seconds, and the CRD
    is installed. Returns the API server's address.

    Raises:
        AiinfraError: one line saying which of the three failed (Kopf itself would log
            hundreds of lines and retry for ever).
    """
    from kubernetes import client, config

    source = os.environ.get("KUBECONFIG") or "~/.kube/config"
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
        source = "the pod's service account"
    except config.ConfigException:
        try:
            config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))  # type: ignore[no-untyped-call]
        except Exception as exc:  # ConfigException, YAML errors, a missing file, a bad type
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise AiinfraError(f"cannot load the kubeconfig {source}: {detail[:200]}") from exc
    configuration = client.Configuration.get_default_copy()
    configuration.retries = False  # one try, no urllib3 retry warnings: this is a probe
    host = str(configuration.host)
    api = client.ApiClient(configuration)
    try:
        client.VersionApi(api).get_code(_request_timeout=timeout)
        if crd is not None:
            client.ApiextensionsV1Api(api).read_custom_resource_definition(
                crd["metadata"]["name"], _request_timeout=timeout
            )
    except client.ApiException as exc:
        if exc.status == 404 and crd is not None:
            raise AiinfraError(
                f"the CRD {crd['metadata']['name']} is not installed at {host}: "
                "apply the output of the `crd` command first"
            ) from exc
        answer = f"{exc.status} {exc.reason}"
        raise AiinfraError(f"the Kubernetes API at {host} answered {answer}") from exc
    except Exception as exc:  # connection refused, DNS, TLS, timeout
        reason = getattr(exc, "reason", exc)
        detail = " ".join(str(reason).split())[:200]
        where = f"the Kubernetes API at {host} ({source})"
        raise AiinfraError(f"cannot reach {where}: {detail}") from exc
    return host


def run_operator(
    handlers: str,
    namespaces: list[str] | None,
    kubeconfig: str | None,
    crd: dict[str, Any] | None = None,
) -> None:
    """Run the operator whose handlers live in module ``handlers`` until Ctrl-C.

    Raises:
        AiinfraError: ``kubeconfig`` names no file, or :func:`preflight` failed.
    """
    import kopf

    if kubeconfig:
        if not Path(kubeconfig).is_file():
            raise AiinfraError(f"no such kubeconfig: {kubeconfig}")
        os.environ["KUBECONFIG"] = kubeconfig
    preflight(crd)
    importlib.import_module(handlers)  # registers the handlers
    kopf.run(standalone=True, namespaces=namespaces or [], clusterwide=not namespaces)


def eventually(
    check: Callable[[], Any],
    timeout: float = 20.0,
    what: str = "",
    *,
    interval: float = 0.1,
    raise_on_timeout: bool = True,
) -> Any:
    """Poll ``check`` until it returns something truthy and return that.

    A ``check`` that raises (a 404 while the operator is still working, a missing key) counts
    as not yet. On timeout: AssertionError naming ``what`` and the last result, or None when
    ``raise_on_timeout`` is False.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    if raise_on_timeout:
        raise AssertionError(f"timed out waiting for {what or check}: last {last!r}")
    return None


def operator_app(
    *,
    help_text: str,
    handlers: str,
    crd: Callable[[], dict[str, Any]],
    demo: Callable[[Any], None],
    demo_help: str,
) -> Any:
    """The Typer app of an operator package: ``crd``, ``run`` and ``demo`` commands.

    Args:
        help_text: The command's help.
        handlers: The module of the Kopf handlers, e.g. ``"modelop.handlers"``.
        crd: Returns the CRD manifest (``crd`` prints it as YAML).
        demo: Runs the demo, given a Rich console.
        demo_help: What the demo shows (the ``demo`` command's help).
    """
    import yaml

    from aiinfra_shared.cliapp import console, package_app

    app = package_app(help_text)

    @app.command("crd")
    def crd_command() -> None:
        """Print the CustomResourceDefinition (generated from the code's schema) as YAML."""
        print(yaml.safe_dump(crd(), sort_keys=False), end="")

    @app.command("run")
    def run_command(
        namespace: Annotated[
            list[str] | None,
            typer.Option("--namespace", "-n", help="Namespaces to watch (default: all)."),
        ] = None,
        kubeconfig: Annotated[
            str | None, typer.Option("--kubeconfig", help="Default $KUBECONFIG or in-cluster.")
        ] = None,
    ) -> None:
        """Run the operator (``kopf run --standalone``) until Ctrl-C."""
        run_operator(handlers, namespace, kubeconfig, crd())

    @app.command("demo", help=demo_help)
    def demo_command() -> None:
        demo(console)

    return app


@contextmanager
def demo_cluster(console: Any, crd: dict[str, Any]) -> Iterator[Any]:
    """For a demo: the API emulator, ``$KUBECONFIG`` exported, the client configured, the CRD
    created. Yields the running service."""
    from kubernetes import client, config

    from aiinfra_shared.services import start

    with start("k8s") as k8s:
        os.environ["KUBECONFIG"] = k8s.env["KUBECONFIG"]
        config.load_kube_config(config_file=k8s.env["KUBECONFIG"])  # type: ignore[no-untyped-call]
        console.print(f"Kubernetes API emulator (kmock) at {k8s.url}")
        client.ApiextensionsV1Api().create_custom_resource_definition(crd)  # type: ignore[arg-type]
        yield k8s


@contextmanager
def operator_process(console: Any, package: str, namespace: str, workdir: Path) -> Iterator[Any]:
    """For a demo: ``python -m <package> run --namespace <namespace>`` as a subprocess, its log
    in ``workdir/operator.log`` (Kopf's own output would bury the demo's), stopped after."""
    log_path = workdir / "operator.log"
    console.print(f"operator: `{package} run -n {namespace}` (its log: {log_path})")
    with log_path.open("w") as log:
        operator = subprocess.Popen(
            [sys.executable, "-m", package, "run", "--namespace", namespace],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ},
        )  # fmt: skip
    try:
        yield operator
    finally:
        operator.terminate()
        try:
            operator.wait(timeout=15)
        except subprocess.TimeoutExpired:
            operator.kill()


_object_locks: dict[str, threading.Lock] = collections.defaultdict(threading.Lock)
_guard = threading.Lock()


@contextmanager
def object_lock(uid: str) -> Iterator[None]:
    """One handler at a time per object. Kopf runs an object's change handlers one after the
    other, but its timers concurrently with them: without this, a timer's reconcile and a field
    handler's can both find a child missing and both create it (409), or a timer can recreate a
    child the delete handler has just removed. Sync handlers run in threads, so a thread lock."""
    with _guard:
        lock = _object_locks[uid]
    with lock:
        yield
