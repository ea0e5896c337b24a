"""The pytest plugin, run inside a pytester sandbox so its outcome is observable."""

from __future__ import annotations

import pytest

GPU_TEST = """
import pytest

@pytest.mark.gpu
def test_needs_cuda():
    pass

def test_cpu():
    pass
"""


def test_gpu_tests_skip_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(GPU_TEST)
    result = pytester.runpytest("-rs", "--strict-markers")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*gpu: *torch is not installed*"])


def test_require_gpu_turns_the_skip_into_a_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(GPU_TEST)
    result = pytester.runpytest("--require-gpu")
    result.assert_outcomes(passed=1, errors=1)  # fails in setup: the run exits non-zero
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*--require-gpu was given but*"])


def test_require_gpu_fails_a_gpu_test_that_skips_itself(pytester: pytest.Pytester) -> None:
    """``nox -s "gpu(llmserve)"`` on a host without vLLM must not report success."""
    pytester.makepyfile(
        """
        import pytest

        pytestmark = [pytest.mark.gpu, pytest.mark.skipif(True, reason="vLLM is not installed")]

        def test_vllm():
            pass
        """
    )
    assert pytester.runpytest().ret == 0  # without the flag: an ordinary skip
    result = pytester.runpytest("--require-gpu")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*--require-gpu: this gpu test skipped*vLLM is not installed*"])


def test_markers_are_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.slow
        @pytest.mark.integration
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers", "-m", "not slow")
    result.assert_outcomes(deselected=1)


def test_service_fixtures_mark_tests_as_integration(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_uses_redis(redis_service):
            assert redis_service.url.startswith("redis://127.0.0.1:")
        """
    )
    result = pytester.runpytest("-m", "integration")
    result.assert_outcomes(passed=1)


def test_missing_service_fails_under_ci_and_skips_otherwise(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        """
        def test_uses_redis(redis_service):
            pass
        """
    )
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CI", raising=False)
    skipped = pytester.runpytest_subprocess("-rs")
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines(["*redis-server*install it with*"])
    monkeypatch.setenv("CI", "true")
    failed = pytester.runpytest_subprocess()
    failed.assert_outcomes(errors=1)
