"""The environment spec: one declarative file per project, validated before anything runs.

``envmgr.toml`` holds the keys at the top level; a ``pyproject.toml`` holds them in a
``[tool.envmgr]`` table (and, when the table has no ``dependencies``, the project's own
``[project] dependencies`` are used)::

    name = "churn-model"
    python = "3.11"
    backend = "uv"                      # venv | uv | poetry | conda
    accelerator = "cpu"                 # cpu | cuda (the PyTorch index to use)
    dependencies = ["scikit-learn>=1.5", "pandas[parquet]>=2.2"]
    index_url = "https://pypi.org/simple"   # optional: the main index (a company mirror)
    index_urls = []                     # extra indexes, searched after the main one

    [groups]
    test = ["pytest>=8"]

Every problem is reported with the file and line it is on (TOML's parser gives none for a key
that is well-formed but wrong, so the line is found by searching the text).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from envmgr.errors import SpecError

BACKENDS = ("venv", "uv", "poetry", "conda")
Backend = Literal["venv", "uv", "poetry", "conda"]

#: Where the PyTorch wheels for each accelerator come from (an extra index, after PyPI).
ACCELERATOR_INDEX = {
    "cpu": "https://download.pytorch.org/whl/cpu",
    "cuda": "https://download.pytorch.org/whl/cu128",
}


@dataclass(frozen=True)
class Indexes:
    """Where packages come from: the main index (None: the tool's default, PyPI) and extras."""

    primary: str | None = None
    extra: tuple[str, ...] = ()

    def pip_args(self) -> list[str]:
        """``--index-url``/``--extra-index-url`` options for pip and uv."""
        args = ["--index-url", self.primary] if self.primary else []
        for url in self.extra:
            args += ["--extra-index-url", url]
        return args


_URL = re.compile(r"^(https?|file)://\S+$")


class EnvSpec(BaseModel):
    """What an environment must contain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$",
        description="Lower-case name: letters, digits, '.', '_' and '-'.",
    )
    python: str = Field(default="3.11", pattern=r"^3\.\d{1,2}$", description="e.g. 3.11")
    backend: Backend = "uv"
    accelerator: Literal["cpu", "cuda"] = "cpu"
    dependencies: tuple[str, ...] = ()
    groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    index_url: str | None = None
    index_urls: tuple[str, ...] = ()

    @field_validator("dependencies")
    @classmethod
    def _requirements(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for i, item in enumerate(value):
            _requirement(item, f"dependencies[{i}]")
        return value

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for group, items in value.items():
            if not re.fullmatch(r"[a-z][a-z0-9_-]*", group):
                raise ValueError(f"group name {group!r}: use lower-case letters, digits, - and _")
            for i, item in enumerate(items):
                _requirement(item, f"groups.{group}[{i}]")
        return value

    @field_validator("index_urls")
    @classmethod
    def _indexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            _check_url(url)
        return value

    @field_validator("index_url")
    @classmethod
    def _index(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value)

    def requirements(self, groups: tuple[str, ...] | None = None) -> list[str]:
        """The dependencies plus the given groups (all groups when None).

        Raises:
            SpecError: A group the spec does not have.
        """
        chosen = tuple(self.groups) if groups is None else groups
        unknown = [g for g in chosen if g not in self.groups]
        if unknown:
            have = ", ".join(self.groups) or "none"
            raise SpecError(f"unknown group(s) {', '.join(unknown)}; the spec has: {have}")
        out = list(self.dependencies)
        for group in chosen:
            out += list(self.groups[group])
        return out

    def indexes(self) -> Indexes:
        """The spec's indexes, plus the accelerator's PyTorch index when torch is asked for
        (so a CPU environment never resolves the multi-GB CUDA build)."""
        wants_torch = any(Requirement(r).name.lower() == "torch" for r in self.requirements())
        extra = list(self.index_urls)
        if wants_torch:
            extra.append(ACCELERATOR_INDEX[self.accelerator])
        return Indexes(self.index_url, tuple(extra))


def _check_url(url: str) -> str:
    if not _URL.match(url):
        raise ValueError(f"index URL {url!r} must start with http://, https:// or file://")
    return url


def _requirement(item: str, where: str) -> Requirement:
    try:
        return Requirement(item)
    except InvalidRequirement as exc:
        why = str(exc).splitlines()[0]  # packaging adds the text and a caret on more lines
        raise ValueError(f"{where}: {item!r} is not a valid requirement ({why})") from None


def _line_of(text: str, needle: str) -> int | None:
    """The first line (1-based) that contains ``needle``, if any."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle and needle in line:
            return number
    return None


def load_spec(path: Path) -> EnvSpec:
    """Read and validate a spec file.

    Raises:
        SpecError: Missing or unreadable file, bad TOML (with its line), no ``[tool.envmgr]``
            in a pyproject, or a value that breaks the schema (with the line it is on).
    """
    if not path.is_file():
        raise SpecError(f"{path}: no such spec file (write envmgr.toml, or [tool.envmgr])")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    raw: dict[str, Any]
    if path.name == "pyproject.toml":
        table = doc.get("tool", {}).get("envmgr")
        if table is None:
            raise SpecError(f"{path}: no [tool.envmgr] table")
        raw = dict(table)
        raw.setdefault("name", str(doc.get("project", {}).get("name", "")).lower())
        if "dependencies" not in raw and "dependencies" in doc.get("project", {}):
            raw["dependencies"] = doc["project"]["dependencies"]
    else:
        raw = dict(doc)
    try:
        return EnvSpec.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = [str(p) for p in err["loc"]]
            message = str(err["msg"]).removeprefix("Value error, ")
            key = loc[0] if loc else ""
            bad = err.get("input")
            quoted = re.search(r"'([^']+)'", message)  # the offending item, when named
            needle = bad if isinstance(bad, str) and bad else quoted.group(1) if quoted else ""
            line = _line_of(text, needle)
            line = line or _line_of(text, f"{key} =") or _line_of(text, f"{key}=")
            where = f"{path}:{line}" if line else str(path)
            if err["type"] == "extra_forbidden":
                message = f"unknown key {key!r} (known: {', '.join(EnvSpec.model_fields)})"
            problems.append(f"{where}: {'.'.join(loc) or 'spec'}: {message}")
        raise SpecError("; ".join(problems)) from None


def find_spec(start: Path) -> Path:
    """``envmgr.toml``, else a ``pyproject.toml`` with ``[tool.envmgr]``, in ``start``.

    Raises:
        SpecError: Neither is there.
    """
    if start.is_file():
        return start
    for name in ("envmgr.toml", "pyproject.toml"):
        candidate = start / name
        if candidate.is_file() and (name == "envmgr.toml" or "[tool.envmgr]" in
                                    candidate.read_text(errors="replace")):  # fmt: skip
            return candidate
    raise SpecError(f"no envmgr.toml (or pyproject.toml with [tool.envmgr]) in {start.absolute()}")
