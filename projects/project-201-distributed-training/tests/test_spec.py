from __future__ import annotations

from pathlib import Path

import pytest
from trainplat.errors import SpecError
from trainplat.spec import JobSpec, builtin, load, parse


def test_the_builtin_spec_is_valid_and_has_a_search_space() -> None:
    spec = builtin("tiny")
    assert spec.scaling.num_workers == 2
    assert spec.tune is not None
    assert set(spec.tune.search_space) == {"lr", "hidden"}


def test_a_minimal_spec_gets_laptop_defaults() -> None:
    spec = parse("name: quick")
    assert spec == JobSpec(name="quick")
    assert spec.max_failures == 2
    assert spec.chaos is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: Bad_Name", "lowercase letters"),
        ("name: a\nepochs: 0", "epochs: Input should be greater than or equal to 1"),
        ("name: a\nscaling: {num_workers: 0}", "scaling.num_workers"),
        ("name: a\nlearning_rate: 0.1", "learning_rate: Extra inputs are not permitted"),
        ("name: a\nepochs: 3\nchaos: {fail_at_epoch: 3}", "before the last epoch"),
        ("name: a\nchaos: {fail_at_epoch: 1, rank: 2}", "one of the workers"),
        ("name: a\nmax_failures: 0\nchaos: {fail_at_epoch: 1}", "max_failures >= 1"),
        ("name: a\ntune: {search_space: {momentum: {uniform: [0, 1]}}}", "unknown hyperparameters"),
        ("name: a\ntune: {search_space: {lr: {uniform: [1, 0.1]}}}", "low must be below high"),
        ("name: a\ntune: {search_space: {lr: {uniform: [0, 1], choice: [1]}}}", "exactly one"),
        ("name: a\ntune: {search_space: {lr: {loguniform: [0, 1]}}}", "must be positive"),
        ("name: a\ntune: {metric: accuracy}", "tune.metric must be one of"),
        ("name: [unclosed", "not valid YAML"),
        ("- just\n- a list", "a mapping"),
    ],
)
def test_a_bad_spec_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse(text, "job.yaml")


def test_a_missing_spec_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read"):
        load(tmp_path / "nope.yaml")
