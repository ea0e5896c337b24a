"""Token sampling and the per-key rate limiter, as plain functions."""

from __future__ import annotations

from collections import Counter

import torch
from llmserve.engine import SamplingParams
from llmserve.engine.sampling import make_generator, sample
from llmserve.ratelimit import RateLimiter

LOGITS = torch.tensor([2.0, 1.0, 0.5, -1.0])


def test_temperature_zero_is_greedy() -> None:
    assert sample(LOGITS, SamplingParams(temperature=0)) == 0


def test_top_p_keeps_only_the_nucleus() -> None:
    # softmax(LOGITS) = [0.61, 0.22, 0.14, 0.03]: top_p 0.5 keeps only the first token,
    # top_p 0.8 the first two.
    params = SamplingParams(temperature=1.0, top_p=0.5, seed=1)
    generator = make_generator(params)
    assert {sample(LOGITS, params, generator) for _ in range(200)} == {0}
    params = SamplingParams(temperature=1.0, top_p=0.8, seed=1)
    generator = make_generator(params)
    assert {sample(LOGITS, params, generator) for _ in range(400)} == {0, 1}


def test_temperature_follows_the_softmax() -> None:
    params = SamplingParams(temperature=1.0, seed=7)
    generator = make_generator(params)
    counts = Counter(sample(LOGITS, params, generator) for _ in range(4000))
    expected = torch.softmax(LOGITS, -1)
    for token, p in enumerate(expected.tolist()):
        assert abs(counts[token] / 4000 - p) < 0.03, (token, counts[token], p)


def test_a_tiny_temperature_is_a_sharp_draw_not_a_crash() -> None:
    # 1e-38 is a valid temperature; dividing raw logits by it overflows to inf, and the softmax
    # of inf - inf is NaN, which made torch.multinomial raise inside the engine loop.
    for temperature in (1.1754943508222875e-38, 1e-30, 1e-6):
        params = SamplingParams(temperature=temperature, seed=3)
        generator = make_generator(params)
        assert {sample(LOGITS, params, generator) for _ in range(50)} == {0}
    huge = torch.tensor([3.0e38, -3.0e38, 0.0])  # extreme logits stay finite after the shift
    assert sample(huge, SamplingParams(temperature=0.5, seed=1), None) == 0


def test_a_seed_repeats_the_draws() -> None:
    params = SamplingParams(temperature=1.5, seed=42)
    first = [sample(LOGITS, params, g) for g in [make_generator(params)] for _ in range(30)]
    again = [sample(LOGITS, params, g) for g in [make_generator(params)] for _ in range(30)]
    assert first == again
    assert make_generator(SamplingParams()) is None


def test_rate_limit_allows_a_burst_then_refills() -> None:
    now = [100.0]
    limiter = RateLimiter(rpm=60, burst=2, clock=lambda: now[0])
    assert limiter.acquire("a")[0]
    assert limiter.acquire("a")[0]
    allowed, remaining, retry = limiter.acquire("a")
    assert (allowed, remaining, retry) == (False, 0, 1)
    assert limiter.acquire("b")[0]  # keys have their own buckets
    now[0] += 1.0  # 60 per minute: one token per second
    assert limiter.acquire("a")[0]
    assert not limiter.acquire("a")[0]


def test_rate_zero_means_unlimited() -> None:
    limiter = RateLimiter(rpm=0, burst=1)
    assert all(limiter.acquire("a")[0] for _ in range(100))
