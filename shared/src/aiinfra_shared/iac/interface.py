"""Module interface checks: the contract between a module and its callers.

- every variable has a ``type`` and a ``description``; every output a ``description``;
- every variable is used inside its module (an unused input is a lie in the interface);
- every module call passes only variables the module declares, and all it requires;
- every ``module.<call>.<output>`` a caller reads exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiinfra_shared.iac.hcl import META_ARGUMENTS, Config, load, module_source

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    level: Level
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


def check_module(config: Config) -> list[Finding]:
    """Findings about one module's own interface."""
    found: list[Finding] = []
    used = config.references("var")
    for var in config.variables.values():
        where = f"{config.path.name}/{var.file}: variable {var.name!r}"
        if not var.type:
            found.append(Finding("error", where, "has no type"))
        if not (var.description or "").strip():
            found.append(Finding("error", where, "has no description"))
        if var.name not in used:
            found.append(Finding("error", where, "is declared but never used"))
    for out in config.outputs.values():
        if not (out.description or "").strip():
            where = f"{config.path.name}/{out.file}: output {out.name!r}"
            found.append(Finding("error", where, "has no description"))
    return found


def check_calls(config: Config, cache: dict[Path, Config] | None = None) -> list[Finding]:
    """Findings about the module calls of ``config`` against the called modules."""
    cache = {} if cache is None else cache
    found: list[Finding] = []
    for call in config.modules.values():
        source = module_source(config, call)
        where = f"{config.path.name}/{call.file}: module {call.name!r}"
        if source is None:
            continue
        if not source.is_dir():
            found.append(Finding("error", where, f"source {call.body.get('source')} not found"))
            continue
        callee = cache.setdefault(source, load(source))
        passed = set(call.body) - META_ARGUMENTS
        for arg in sorted(passed - set(callee.variables)):
            message = f"passes {arg!r}, which {source.name} does not declare"
            found.append(Finding("error", where, message))
        required = {v.name for v in callee.variables.values() if not v.has_default}
        for arg in sorted(required - passed):
            found.append(Finding("error", where, f"does not pass required variable {arg!r}"))
        for out in sorted(config.module_output_references(call.name) - set(callee.outputs)):
            message = f"reads output {out!r}, which {source.name} does not declare"
            found.append(Finding("error", where, message))
    return found


def config_dirs(root: Path) -> list[Path]:
    """Every folder under ``root`` with ``.tf`` files (not hidden ones, not test fixtures)."""
    found = {
        p.parent
        for p in root.rglob("*.tf")
        if not any(part.startswith(".") or part == "tests" for part in p.relative_to(root).parts)
    }
    return sorted(found)


def check_tree(root: Path) -> list[Finding]:
    """Every configuration under ``root``: its own interface and its module calls."""
    cache: dict[Path, Config] = {}
    found: list[Finding] = []
    for folder in config_dirs(root):
        config = cache.setdefault(folder.resolve(), load(folder))
        found += check_module(config)
        found += check_calls(config, cache)
    return found
