"""Rotations, handoffs in local time across daylight saving, overrides, and bad files."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from incidents.oncall import OncallConfigError, load, parse, shifts

UTC_ = UTC


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("moment", "who"),
    [
        ("2026-11-02T08:00:00+00:00", "alice"),  # 09:00 Berlin (CET): the first handoff
        ("2026-11-09T07:59:00+00:00", "alice"),  # one minute before the second handoff
        ("2026-11-09T08:00:00+00:00", "bob"),
        ("2026-11-16T08:00:00+00:00", "carol"),
        ("2026-11-23T08:00:00+00:00", "alice"),  # round robin
        ("2026-12-25T12:00:00+00:00", "dave"),  # the Christmas override
        ("2026-12-27T07:59:00+00:00", "dave"),
        ("2026-12-27T08:00:00+00:00", "bob"),  # override over: back to the rotation
    ],
)
def test_weekly_rotation_and_override(oncall_config: Any, moment: str, who: str) -> None:
    assert oncall_config.schedules["ml-primary"].on_call(at(moment)) == who


def test_handoff_stays_at_local_time_across_daylight_saving(oncall_data: dict[str, Any]) -> None:
    config = parse(oncall_data)
    # Berlin moves to CEST on 2027-03-28: the 09:00 handoff is 08:00 UTC before, 07:00 after
    schedule = config.schedules["ml-primary"]
    before = schedule.shift_of(at("2027-03-25T12:00:00+00:00"))
    after = schedule.shift_of(at("2027-03-31T12:00:00+00:00"))
    assert before[1] == at("2027-03-22T08:00:00+00:00")
    assert before[2] == after[1] == at("2027-03-29T07:00:00+00:00")


def test_daily_rotation_in_new_york(oncall_config: Any) -> None:
    secondary = oncall_config.schedules["ml-secondary"]
    # 08:00 New York = 13:00 UTC in December
    assert secondary.on_call(at("2026-12-07T12:59:00+00:00")) != secondary.on_call(
        at("2026-12-07T13:00:00+00:00")
    )


def test_shifts_list_is_contiguous_and_marks_overrides(oncall_config: Any) -> None:
    got = shifts(
        oncall_config,
        "ml-primary",
        at("2026-12-20T00:00:00+00:00"),
        at("2026-12-29T00:00:00+00:00"),
    )
    assert [(s.user, s.override) for s in got] == [
        ("alice", False),
        ("bob", False),
        ("dave", True),
        ("bob", False),
        ("carol", False),
    ]
    assert all(a.end == b.start for a, b in pairwise(got))
    assert got[2].start == at("2026-12-24T17:00:00+00:00")  # 18:00 Berlin


def test_escalation_targets_resolve_to_people(oncall_config: Any) -> None:
    moment = at("2026-12-07T10:00:00+00:00")
    assert oncall_config.resolve("schedule:ml-primary", moment) == ["carol"]
    assert oncall_config.resolve("user:head-of-ml", moment) == ["head-of-ml"]
    assert oncall_config.policy_for("data")[0] == "data"
    assert oncall_config.policy_for("nobody")[0] == "ml"  # the default


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["schedules"]["ml-primary"].update(timezone="Mars/Olympus"),
            "unknown time zone",
        ),
        (
            lambda d: d["schedules"]["ml-primary"].update(handoff="25:00"),
            "schedules.ml-primary.handoff",
        ),
        (lambda d: d["schedules"]["ml-primary"].update(start="2026-11-03"), "is a tuesday"),
        (lambda d: d["schedules"]["ml-primary"]["participants"].append("mallory"), "'mallory'"),
        (lambda d: d["schedules"]["ml-primary"].update(participants=[]), "participants"),
        (
            lambda d: d["escalation_policies"]["ml"].append(
                {"after_minutes": 5, "notify": ["user:bob"]}
            ),
            "strictly increase",
        ),
        (lambda d: d["escalation_policies"]["ml"][0].update(notify=["team:ml"]), "schedule:NAME"),
        (
            lambda d: d["escalation_policies"]["ml"][0].update(notify=["schedule:nope"]),
            "does not exist",
        ),
        (lambda d: d["routes"].update(ops="nope"), "no such escalation policy"),
        (
            lambda d: d["schedules"]["ml-primary"]["overrides"][0].update(end="2026-12-24T17:00"),
            "ends",
        ),
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d["users"]["alice"].update(email="not-an-address"), "users.alice.email"),
    ],
)
def test_invalid_files_say_what_and_where(
    oncall_data: dict[str, Any], change: Any, message: str
) -> None:
    change(oncall_data)
    with pytest.raises(OncallConfigError, match=message):
        parse(oncall_data)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(OncallConfigError, match="no such file"):
        load(tmp_path / "missing.yml")
    (tmp_path / "bad.yml").write_text("users: [unclosed")
    with pytest.raises(OncallConfigError, match="not valid YAML"):
        load(tmp_path / "bad.yml")
    (tmp_path / "empty.yml").write_text("")
    with pytest.raises(OncallConfigError, match="expected a mapping"):
        load(tmp_path / "empty.yml")


def test_before_the_schedule_starts_is_an_error(oncall_config: Any) -> None:
    with pytest.raises(OncallConfigError, match="before the schedule starts"):
        oncall_config.schedules["ml-primary"].on_call(at("2026-10-01T00:00:00+00:00"))
