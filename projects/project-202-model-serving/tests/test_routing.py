"""Configuration checks and the router: weighted, sticky, failing over."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from servplat.breaker import CircuitBreaker
from servplat.config import DEFAULT_CONFIG
from servplat.errors import BackendUnavailableError, ConfigError
from servplat.routing import PlatformConfig, Router, bucket, load_config, pick

BACKENDS = {
    "a": {"kind": "classic", "url": "http://a"},
    "b": {"kind": "classic", "url": "http://b"},
    "c": {"kind": "llm", "url": "http://c"},
}


def config(**route: object) -> PlatformConfig:
    base = {"model": "m", "variants": {"a": 90, "b": 10}}
    return PlatformConfig.model_validate({"backends": BACKENDS, "routes": [base | route]})


def router(cfg: PlatformConfig) -> Router:
    return Router(cfg, {name: CircuitBreaker(name, failure_threshold=1) for name in cfg.backends})


def test_the_shipped_config_loads() -> None:
    cfg = load_config(DEFAULT_CONFIG)
    assert [r.model for r in cfg.routes] == ["scorer", "chat"]
    assert cfg.route("scorer").shadow == "scorer-v2"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ({"variants": {"a": 1, "zz": 1}}, "unknown backends: ['zz']"),
        ({"variants": {"a": 1, "c": 1}}, "mixes classic and llm"),
        ({"variants": {"a": 0, "b": 0}}, "at least one weight must be > 0"),
        ({"variants": {"a": -1, "b": 2}}, "weights must be >= 0"),
        ({"shadow": "c"}, "mixes classic and llm"),
        ({"variants": {"c": 1}, "batching": {"max_batch": 4}}, "batching is for classic"),
        ({"model": "bad name"}, "pattern"),
    ],
)
def test_bad_configs_are_refused_with_the_reason(
    tmp_path: Path,
    route: dict,
    message: str,  # type: ignore[type-arg]
) -> None:
    import yaml

    path = tmp_path / "p.yaml"
    path.write_text(
        yaml.safe_dump(
            {"backends": BACKENDS, "routes": [{"model": "m", "variants": {"a": 1}} | route]}
        )
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)


def test_a_backend_needs_a_url_or_a_launch(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("backends: {a: {kind: classic}}\nroutes: [{model: m, variants: {a: 1}}]\n")
    with pytest.raises(ConfigError, match="give a url"):
        load_config(path)


def test_pick_follows_cumulative_weights() -> None:
    weights = {"a": 90, "b": 10, "c": 0}
    assert pick(weights, 0.0) == "a"
    assert pick(weights, 0.8999) == "a"
    assert pick(weights, 0.9) == "b"
    assert pick(weights, 0.999999) == "b"


def test_a_90_10_split_over_1000_users_and_sticky_users() -> None:
    r = router(config())
    first = {f"user-{i}": r.assign("m", f"user-{i}")[0] for i in range(1000)}
    shares = Counter(first.values())
    assert abs(shares["a"] / 1000 - 0.9) < 0.03, shares
    assert all(r.assign("m", user)[0] == variant for user, variant in first.items())
    assert 0 <= bucket("m", "x") < 1
    assert bucket("m", "x") != bucket("other-route", "x")  # routes split independently


def test_without_a_user_the_draw_is_random_but_seeded() -> None:
    r1, r2 = router(config()), router(config())
    seq1 = [r1.assign("m", None)[0] for _ in range(1000)]
    seq2 = [r2.assign("m", None)[0] for _ in range(1000)]
    assert seq1 == seq2  # same seed, same sequence
    assert abs(seq1.count("a") / 1000 - 0.9) < 0.03


def test_an_open_breaker_sends_its_users_elsewhere_and_all_open_is_unavailable() -> None:
    r = router(config())
    user = next(f"u{i}" for i in range(1000) if r.assign("m", f"u{i}")[0] == "b")
    r.breakers["b"].failure()  # threshold 1: open
    assert r.assign("m", user) == ("a", True)
    r.breakers["a"].failure()
    with pytest.raises(BackendUnavailableError, match="circuit open"):
        r.assign("m", user)


def test_weights_change_at_run_time_and_are_checked() -> None:
    r = router(config())
    assert r.set_weights("m", {"a": 0, "b": 1}) == {"a": 0, "b": 1}
    assert {r.assign("m", f"u{i}")[0] for i in range(50)} == {"b"}
    with pytest.raises(ConfigError, match="not a classic backend"):
        r.set_weights("m", {"c": 1})
    with pytest.raises(ConfigError, match="at least one weight"):
        r.set_weights("m", {"a": 0})
    assert r.weights("m") == {"a": 0, "b": 1}
