"""On-call: rotations, overrides, escalation policies and contacts, from one YAML file.

::

    users:
      alice: {email: alice@example.org, chat: "http://127.0.0.1:9000/slack"}
    schedules:
      ml-primary:
        timezone: Europe/Berlin
        rotation: weekly          # or daily
        handoff: "09:00"          # local time of the handoff
        handoff_day: monday       # weekly rotations only
        start: 2026-11-30         # the first handoff (a date in the schedule's timezone)
        participants: [alice, bob, carol]
        overrides:
          - {user: dave, start: "2026-12-05T18:00", end: "2026-12-06T09:00"}   # local times
    escalation_policies:
      ml:
        - {after_minutes: 0, notify: [schedule:ml-primary]}
        - {after_minutes: 15, notify: [schedule:ml-secondary]}
        - {after_minutes: 30, notify: [user:carol]}
    routes:                       # alert label team -> policy
      ml: ml
    default_policy: ml

Handoffs happen at local time, so a 09:00 Berlin handoff stays 09:00 across daylight-saving
changes (the UTC instant moves). Every problem in the file is reported with where it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from incidents.errors import IncidentsError

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NAME = r"^[A-Za-z0-9_.-]+$"


class OncallConfigError(IncidentsError):
    """The on-call file is missing, not YAML, or says something impossible."""


class Contact(BaseModel):
    """How to reach one person."""

    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$")
    chat: str | None = Field(None, pattern=r"^https?://")


class Override(BaseModel):
    """Someone else holds the pager from ``start`` to ``end`` (local times of the schedule)."""

    model_config = ConfigDict(extra="forbid")
    user: str = Field(pattern=NAME)
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> Override:
        if self.end <= self.start:
            raise ValueError(
                f"override of {self.user} ends ({self.end}) before it starts ({self.start})"
            )
        return self


class Schedule(BaseModel):
    """One rotation."""

    model_config = ConfigDict(extra="forbid")
    timezone: str = "UTC"
    rotation: Literal["daily", "weekly"] = "weekly"
    handoff: time = time(9, 0)
    handoff_day: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"
    start: date
    participants: list[str] = Field(min_length=1)
    overrides: list[Override] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)"
            ) from None
        return value

    @model_validator(mode="after")
    def _weekly_start(self) -> Schedule:
        if self.rotation == "weekly" and DAYS[self.start.weekday()] != self.handoff_day:
            raise ValueError(
                f"start {self.start} is a {DAYS[self.start.weekday()]}, "
                f"but handoffs are on {self.handoff_day}"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone."""
        return ZoneInfo(self.timezone)

    def _handoff_at(self, day: date) -> datetime:
        return datetime.combine(day, self.handoff, tzinfo=self.zone).astimezone(UTC)

    def shift_of(self, at: datetime) -> tuple[str, datetime, datetime]:
        """The regular rotation's (person, shift start, shift end) at ``at`` (no overrides)."""
        period = 7 if self.rotation == "weekly" else 1
        local_day = at.astimezone(self.zone).date()
        index = (local_day - self.start).days // period
        shift_start = self._handoff_at(self.start + timedelta(days=index * period))
        if at < shift_start:
            index -= 1
        start = self._handoff_at(self.start + timedelta(days=index * period))
        end = self._handoff_at(self.start + timedelta(days=(index + 1) * period))
        if index < 0:
            raise OncallConfigError(
                f"{at.isoformat()} is before the schedule starts ({self.start})"
            )
        return self.participants[index % len(self.participants)], start, end

    def on_call(self, at: datetime) -> str:
        """Who holds the pager at ``at`` (an override wins over the rotation)."""
        for override in self.overrides:
            start = (
                override.start.replace(tzinfo=self.zone)
                if override.start.tzinfo is None
                else override.start
            )
            end = (
                override.end.replace(tzinfo=self.zone)
                if override.end.tzinfo is None
                else override.end
            )
            if start <= at < end:
                return override.user
        return self.shift_of(at)[0]


class Step(BaseModel):
    """One escalation step: after N minutes without an acknowledgement, notify these."""

    model_config = ConfigDict(extra="forbid")
    after_minutes: int = Field(ge=0, le=7 * 24 * 60)
    notify: list[str] = Field(min_length=1)


class OncallConfig(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid")
    users: dict[str, Contact] = Field(default_factory=dict)
    schedules: dict[str, Schedule] = Field(default_factory=dict)
    escalation_policies: dict[str, list[Step]] = Field(default_factory=dict)
    routes: dict[str, str] = Field(default_factory=dict)
    default_policy: str | None = None

    @model_validator(mode="after")
    def _references(self) -> OncallConfig:
        for name, schedule in self.schedules.items():
            for person in [*schedule.participants, *(o.user for o in schedule.overrides)]:
                if person not in self.users:
                    raise ValueError(f"schedule {name} names {person!r}, who is not under users")
        for name, steps in self.escalation_policies.items():
            if [s.after_minutes for s in steps] != sorted({s.after_minutes for s in steps}):
                raise ValueError(f"escalation policy {name}: after_minutes must strictly increase")
            for step in steps:
                for target in step.notify:
                    kind, _, ref = target.partition(":")
                    known = (
                        self.schedules
                        if kind == "schedule"
                        else self.users
                        if kind == "user"
                        else None
                    )
                    if known is None:
                        raise ValueError(
                            f"policy {name}: target {target!r} is not schedule:NAME or user:NAME"
                        )
                    if ref not in known:
                        raise ValueError(f"policy {name}: {target!r} does not exist")
        for team, policy in self.routes.items():
            if policy not in self.escalation_policies:
                raise ValueError(f"route {team} -> {policy}: no such escalation policy")
        if self.default_policy and self.default_policy not in self.escalation_policies:
            raise ValueError(f"default_policy {self.default_policy}: no such escalation policy")
        return self

    def policy_for(self, team: str | None) -> tuple[str, list[Step]] | None:
        """The escalation policy for an alert's ``team`` label (or the default)."""
        name = self.routes.get(team or "", self.default_policy)
        if not name:
            return None
        return name, self.escalation_policies[name]

    def resolve(self, target: str, at: datetime) -> list[str]:
        """The people a target means at ``at`` (``schedule:x`` -> who is on call)."""
        kind, _, ref = target.partition(":")
        if kind == "schedule":
            return [self.schedules[ref].on_call(at)]
        return [ref]


@dataclass(frozen=True)
class Shift:
    """One stretch of one person holding one schedule's pager."""

    schedule: str
    user: str
    start: datetime
    end: datetime
    override: bool


def shifts(config: OncallConfig, schedule: str, start: datetime, end: datetime) -> list[Shift]:
    """Who is on call when, from ``start`` to ``end`` (overrides cut into the rotation).

    Raises:
        OncallConfigError: No such schedule, or a range over 366 days.
    """
    if schedule not in config.schedules:
        raise OncallConfigError(
            f"no schedule {schedule!r}; have: {', '.join(config.schedules) or 'none'}"
        )
    if not start < end or end - start > timedelta(days=366):
        raise OncallConfigError("the range must be positive and at most 366 days")
    sched = config.schedules[schedule]
    cuts = {start, end}
    at = start
    while at < end:
        _, _, shift_end = sched.shift_of(at)
        cuts.add(min(shift_end, end))
        at = shift_end
    for o in sched.overrides:
        for moment in (o.start, o.end):
            aware = moment.replace(tzinfo=sched.zone) if moment.tzinfo is None else moment
            if start < aware < end:
                cuts.add(aware.astimezone(UTC))
    ordered = sorted(cuts)
    out: list[Shift] = []
    for a, b in pairwise(ordered):
        user = sched.on_call(a)
        regular = sched.shift_of(a)[0]
        if out and out[-1].user == user and out[-1].override == (user != regular):
            out[-1] = Shift(schedule, user, out[-1].start, b, out[-1].override)
        else:
            out.append(Shift(schedule, user, a, b, user != regular))
    return out


def load(path: Path | str) -> OncallConfig:
    """Read and check an on-call file.

    Raises:
        OncallConfigError: Missing, unreadable, not YAML, or invalid (the first problem, with
            where it is).
    """
    file = Path(path)
    try:
        data: Any = yaml.safe_load(file.read_text())
    except FileNotFoundError:
        raise OncallConfigError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OncallConfigError(f"{file}: cannot read it: {exc}") from None
    except yaml.YAMLError as exc:
        raise OncallConfigError(f"{file}: not valid YAML: {str(exc).splitlines()[0]}") from None
    return parse(data, str(file))


def parse(data: Any, source: str = "on-call config") -> OncallConfig:
    """Check an on-call config already read from YAML or JSON."""
    if not isinstance(data, dict) or not data:
        raise OncallConfigError(
            f"{source}: expected a mapping with users, schedules, escalation_policies"
        )
    try:
        return OncallConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        message = first["msg"].removeprefix("Value error, ")
        raise OncallConfigError(f"{source}: {where}: {message}") from None
