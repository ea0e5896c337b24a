from __future__ import annotations

import pytest
from featstream.windows import SLIDING, TUMBLING, WindowSpec
from hypothesis import given
from hypothesis import strategies as st

SPEC = WindowSpec(60_000, 300_000, 60_000)


@given(st.integers(min_value=0, max_value=4_102_444_800_000))
def test_every_window_contains_the_event_and_is_aligned(t: int) -> None:
    windows = SPEC.windows(t)
    assert [k for k, _, _ in windows].count(TUMBLING) == 1
    assert [k for k, _, _ in windows].count(SLIDING) == 5
    for kind, start, end in windows:
        assert start <= t < end
        assert start % (60_000 if kind == SLIDING else SPEC.size_ms) == 0
    assert len({s for k, s, _ in windows if k == SLIDING}) == 5


def test_window_boundaries_are_half_open() -> None:
    assert SPEC.windows(120_000)[0] == (TUMBLING, 120_000, 180_000)
    assert SPEC.windows(119_999)[0] == (TUMBLING, 60_000, 120_000)


@pytest.mark.parametrize("sizes", [(0, 10, 5), (60, 300, 70), (60, -300, 60)])
def test_bad_specs_are_refused(sizes: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="must"):
        WindowSpec(*sizes)
