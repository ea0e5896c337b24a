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


def check_test_files(module_dir: Path) -> list[str]:
    """Static checks of a module's ``tests/*.tftest.hcl`` (for tests that cannot run where
    providers cannot be installed): every variable a test sets and every ``expect_failures``
    entry is declared by the module, and every ``<type>.<name>.`` a test reads is a resource
    of the module. Returns one message per problem; raises nothing on a module with no tests.
    """
    import re

    import hcl2

    config = load(module_dir)
    source = "\n".join(f.read_text() for f in module_dir.glob("*.tf"))
    problems: list[str] = []
    for test_file in sorted(module_dir.glob("tests/*.tftest.hcl")):
        text = test_file.read_text()
        where = f"{module_dir.name}/tests/{test_file.name}"
        try:
            doc = hcl2.loads(text)
        except Exception as exc:  # lark's parse errors
            problems.append(f"{where}: does not parse: {str(exc).splitlines()[0]}")
            continue
        names = {k for block in doc.get("variables", []) for k in block if not k.startswith("__")}
        for run in doc.get("run", []):
            for label, body in run.items():
                if label.startswith("__"):
                    continue
                for block in body.get("variables") or []:
                    names |= {k for k in block if not k.startswith("__")}
                for failure in body.get("expect_failures") or []:
                    ref = str(failure).strip("${}")
                    if ref.startswith("check."):
                        known = f'check "{ref.removeprefix("check.")}"' in source
                    else:
                        known = ref.removeprefix("var.") in config.variables
                    if not known:
                        problems.append(f"{where}: run {label}: expects a failure of {failure}")
        problems += [
            f"{where}: sets undeclared variable {n}" for n in sorted(names - set(config.variables))
        ]
        for kind, name in sorted(set(re.findall(r"\b([a-z]+_[a-z0-9_]+)\.([a-z0-9_]+)\.", text))):
            if kind in ("var", "output", "run", "data"):
                continue
            if f'resource "{kind}" "{name}"' not in source:
                problems.append(f"{where}: reads {kind}.{name}, not a resource of the module")
    return problems
