"""Runbooks as data: YAML steps run against real endpoints, with dry-run and approvals.

::

    name: model-quality-drop
    description: The model's accuracy fell under its floor.
    match: {alertname: ModelAccuracyLow}
    steps:
      - name: accuracy now
        action: prometheus_query
        query: 'ml_model_accuracy{model="{{ labels.model }}"}'
        expect: {op: "<", value: 0.85}        # a check: the step fails if it does not hold
      - name: roll back to the previous model
        action: http
        method: POST
        url: "{{ vars.model_server }}/admin/rollback"
        expect_status: 200
        risky: true                           # never runs without an approval
      - name: let it settle
        action: wait
        seconds: 2
      - name: accuracy recovered
        action: prometheus_query
        query: 'ml_model_accuracy{model="{{ labels.model }}"}'
        expect: {op: ">=", value: 0.85}

Strings are Jinja2 templates (sandboxed) over the incident's first alert ``labels``,
``annotations`` and the runner's ``vars``. A dry run renders every step and runs none. A risky
step without an approval stops the run there (``awaiting_approval``); approving it by name and
running again continues. Every run is attached to the incident's timeline.
"""

from __future__ import annotations

import operator
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from incidents.errors import IncidentsError

OPS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


class RunbookError(IncidentsError):
    """A runbook file that is missing, not YAML, or not a valid runbook."""


class Expect(BaseModel):
    """A check on a query's value."""

    model_config = ConfigDict(extra="forbid")
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    value: float = Field(allow_inf_nan=False)


class RunbookStep(BaseModel):
    """One step."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    action: Literal["prometheus_query", "http", "wait"]
    query: str | None = None
    expect: Expect | None = None
    method: Literal["GET", "POST", "PUT", "DELETE"] = "GET"
    url: str | None = None
    body: dict[str, Any] | None = None
    expect_status: int = Field(200, ge=100, le=599)
    seconds: float = Field(0, ge=0, le=600, allow_inf_nan=False)
    risky: bool = False

    @model_validator(mode="after")
    def _needs(self) -> RunbookStep:
        if self.action == "prometheus_query" and not self.query:
            raise ValueError(f"step {self.name!r}: prometheus_query needs 'query'")
        if self.action == "http" and not self.url:
            raise ValueError(f"step {self.name!r}: http needs 'url'")
        if self.action == "wait" and not self.seconds:
            raise ValueError(f"step {self.name!r}: wait needs 'seconds' > 0")
        return self


class Runbook(BaseModel):
    """A named list of steps and the alerts it is for."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=100)
    description: str = ""
    match: dict[str, str] = Field(default_factory=dict)
    steps: list[RunbookStep] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _unique(self) -> Runbook:
        names = [s.name for s in self.steps]
        if len(names) != len(set(names)):
            raise ValueError("step names must be unique (approvals name them)")
        return self

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether an alert's labels fit this runbook."""
        return all(labels.get(k) == v for k, v in self.match.items())


def load_dir(folder: Path | str) -> dict[str, Runbook]:
    """Every ``*.yml``/``*.yaml`` runbook in ``folder`` by name.

    Raises:
        RunbookError: A file that does not load (named, with the first problem).
    """
    books: dict[str, Runbook] = {}
    root = Path(folder)
    if not root.is_dir():
        raise RunbookError(f"{root}: no such folder")
    for path in sorted([*root.glob("*.yml"), *root.glob("*.yaml")]):
        book = load(path)
        if book.name in books:
            raise RunbookError(f"{path}: a second runbook named {book.name!r}")
        books[book.name] = book
    return books


def load(path: Path | str) -> Runbook:
    """One runbook file.

    Raises:
        RunbookError: Missing, not YAML, or invalid.
    """
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise RunbookError(f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        raise RunbookError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    try:
        return Runbook.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise RunbookError(
            f"{path}: {where}: {first['msg'].removeprefix('Value error, ')}"
        ) from None


@dataclass
class StepResult:
    """What one step did."""

    name: str
    status: Literal["ok", "failed", "skipped", "dry_run", "awaiting_approval"]
    detail: str
    rendered: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    """A whole run: its status and every step's result."""

    runbook: str
    status: Literal["succeeded", "failed", "awaiting_approval", "dry_run"]
    steps: list[StepResult]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "runbook": self.runbook,
            "status": self.status,
            "steps": [s.__dict__ for s in self.steps],
        }


class Runner:
    """Runs runbooks against a Prometheus and HTTP endpoints."""

    def __init__(
        self,
        prometheus_url: str | None = None,
        variables: dict[str, str] | None = None,
        *,
        sleep: Any = time.sleep,
    ) -> None:
        self.prometheus_url = prometheus_url
        self.variables = dict(variables or {})
        self.sleep = sleep
        self._env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)

    def _render(self, text: str, context: dict[str, Any]) -> str:
        try:
            return self._env.from_string(text).render(**context)
        except TemplateError as exc:
            raise RunbookError(f"template {text!r}: {exc}") from None

    def run(
        self,
        book: Runbook,
        labels: dict[str, str],
        annotations: dict[str, str] | None = None,
        *,
        dry_run: bool = False,
        approved: set[str] | None = None,
    ) -> RunResult:
        """Run ``book`` for an alert with ``labels``; stops at the first failure or unapproved
        risky step."""
        context = {"labels": labels, "annotations": annotations or {}, "vars": self.variables}
        approved = approved or set()
        results: list[StepResult] = []
        status: Literal["succeeded", "failed", "awaiting_approval", "dry_run"] = (
            "dry_run" if dry_run else "succeeded"
        )
        for step in book.steps:
            if status in ("failed", "awaiting_approval"):
                results.append(StepResult(step.name, "skipped", "an earlier step stopped the run"))
                continue
            try:
                rendered = {
                    key: self._render(value, context)
                    for key, value in (("query", step.query), ("url", step.url))
                    if value
                }
            except RunbookError as exc:
                results.append(StepResult(step.name, "failed", str(exc)))
                status = "failed"
                continue
            if dry_run:
                what = rendered.get("query") or (
                    f"{step.method} {rendered['url']}"
                    if "url" in rendered
                    else f"wait {step.seconds:g} s"
                )
                results.append(
                    StepResult(
                        step.name,
                        "dry_run",
                        f"would run: {what}" + (" (risky: needs approval)" if step.risky else ""),
                        rendered,
                    )
                )
                continue
            if step.risky and step.name not in approved:
                results.append(
                    StepResult(
                        step.name,
                        "awaiting_approval",
                        "risky step: approve it by name to run it",
                        rendered,
                    )
                )
                status = "awaiting_approval"
                continue
            ok, detail = self._execute(step, rendered)
            results.append(StepResult(step.name, "ok" if ok else "failed", detail, rendered))
            if not ok:
                status = "failed"
        return RunResult(book.name, status, results)

    def _execute(self, step: RunbookStep, rendered: dict[str, str]) -> tuple[bool, str]:
        if step.action == "wait":
            self.sleep(step.seconds)
            return True, f"waited {step.seconds:g} s"
        if step.action == "http":
            try:
                response = httpx.request(step.method, rendered["url"], json=step.body, timeout=10)
            except httpx.HTTPError as exc:
                return False, f"{step.method} {rendered['url']}: {type(exc).__name__}: {exc}"
            ok = response.status_code == step.expect_status
            return ok, f"{step.method} {rendered['url']} -> HTTP {response.status_code}" + (
                "" if ok else f" (expected {step.expect_status})"
            )
        if not self.prometheus_url:
            return False, "no Prometheus configured (INCIDENTS_PROMETHEUS_URL)"
        query = rendered["query"]
        try:
            response = httpx.get(
                f"{self.prometheus_url}/api/v1/query", params={"query": query}, timeout=10
            )
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return False, f"Prometheus unreachable: {exc}"
        if data.get("status") != "success":
            return False, f"Prometheus refused {query!r}: {data.get('error')}"
        result = data["data"]["result"]
        if not result:
            return False, f"{query} returned no series"
        value = float(result[0]["value"][1])
        if step.expect is None:
            return True, f"{query} = {value:g}"
        ok = OPS[step.expect.op](value, step.expect.value)
        return ok, f"{query} = {value:g} (expected {step.expect.op} {step.expect.value:g})"
