"""The circuit breaker's states, on a fake clock."""

from __future__ import annotations

from servplat.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker


def make(**kwargs: object) -> tuple[CircuitBreaker, list[float], list[tuple[str, str]]]:
    now = [0.0]
    changes: list[tuple[str, str]] = []
    breaker = CircuitBreaker(
        "b", clock=lambda: now[0], on_change=lambda n, s: changes.append((n, s)), **kwargs
    )  # type: ignore[arg-type]
    return breaker, now, changes


def test_failures_in_a_row_open_it_and_success_resets_the_count() -> None:
    breaker, _, changes = make(failure_threshold=3)
    breaker.failure()
    breaker.failure()
    breaker.success()  # the count starts over
    breaker.failure()
    breaker.failure()
    assert breaker.state == CLOSED
    breaker.failure()
    assert breaker.state == OPEN
    assert not breaker.allow()
    assert changes == [("b", OPEN)]


def test_after_the_timeout_one_trial_decides() -> None:
    breaker, now, changes = make(failure_threshold=1, reset_timeout=5.0)
    breaker.failure()
    now[0] = 4.9
    assert not breaker.allow()
    now[0] = 5.0
    assert breaker.state == HALF_OPEN
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # only one at a time
    breaker.failure()  # the trial failed: open again, for another timeout
    assert breaker.state == OPEN
    now[0] = 10.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == CLOSED
    assert breaker.allow()
    assert changes == [("b", OPEN), ("b", HALF_OPEN), ("b", OPEN), ("b", HALF_OPEN), ("b", CLOSED)]
