"""Templates, answers, rendering and the three-way update.

A template is a folder under ``templates/`` with a ``template.toml`` (description, version,
its own options). Every template is rendered on top of ``templates/_common`` (the parts all
services share: pyproject, settings, health/ready/metrics, auth, tracing, Dockerfile,
Kubernetes, CI, pre-commit). Files ending in ``.j2`` are Jinja2 templates (strict: an
undefined name is an error, never an empty string); ``PKG`` in a path is the package name.
A file or folder that belongs to an option is listed in ``_common/files.toml`` and left out
when the option is off.

The generated project keeps its answers (``.mltemplate/answers.json``) and the files exactly
as they were rendered (``.mltemplate/pristine/``), so ``update`` can merge a newer template
into a project people have edited: for each file, base = pristine, ours = the project's,
theirs = the new render, merged with ``git merge-file`` (conflicts are reported and marked,
never silently overwritten).
"""

from __future__ import annotations

import json
import keyword
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from mltemplate.errors import MltemplateError

TEMPLATES = Path(__file__).parent / "templates"
STATE = ".mltemplate"
ANSWERS = f"{STATE}/answers.json"
PRISTINE = f"{STATE}/pristine"

#: Options every template has: name -> (default, help).
COMMON_OPTIONS: dict[str, tuple[bool, str]] = {
    "auth": (True, "API keys (X-API-Key) on the predict routes"),
    "metrics": (True, "Prometheus /metrics (requests, latency, predictions)"),
    "tracing": (False, "OpenTelemetry spans for every request"),
    "docker": (True, "a two-stage, non-root Dockerfile"),
    "kubernetes": (True, "Deployment, Service and HPA with probes"),
    "github_actions": (True, "a GitHub Actions workflow: lint and test"),
    "pre_commit": (True, "a pre-commit config running ruff"),
}


@dataclass(frozen=True)
class Template:
    """One template: its folder, description, version and options (common ones included)."""

    name: str
    path: Path
    description: str
    version: str
    options: dict[str, tuple[bool, str]] = field(default_factory=dict)
    extends: str | None = None  # a shared layer between _common and the template

    def layers(self) -> list[Path]:
        """The folders rendered, later ones winning: _common, the shared layer, the template."""
        root = self.path.parent
        middle = [root / self.extends] if self.extends else []
        return [root / "_common", *middle, self.path]


def templates(root: Path = TEMPLATES) -> dict[str, Template]:
    """Every template under ``root`` (folders with a ``template.toml``), by name."""
    found = {}
    for folder in sorted(p for p in root.iterdir() if (p / "template.toml").is_file()):
        meta = tomllib.loads((folder / "template.toml").read_text())
        own = {k: (bool(v["default"]), str(v["help"])) for k, v in meta.get("options", {}).items()}
        found[folder.name] = Template(folder.name, folder, meta["description"],
                                      meta["version"], {**COMMON_OPTIONS, **own},
                                      meta.get("extends"))  # fmt: skip
    return found


def get_template(name: str, root: Path = TEMPLATES) -> Template:
    """Raises: MltemplateError: no such template (the message lists them)."""
    every = templates(root)
    if name not in every:
        raise MltemplateError(f"unknown template {name!r}; choose one of {', '.join(every)}")
    return every[name]


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def check_name(name: str) -> str:
    """The project's name as its Python package name (``fraud-scorer`` -> ``fraud_scorer``).

    Raises:
        MltemplateError: Not lower-case letters, digits, ``-``/``_``; a Python keyword; or the
            name of a standard-library module (``import json`` would then import yours).
    """
    package = name.replace("-", "_")
    if not _NAME.match(package) or package.endswith("_") or len(package) > 60:
        raise MltemplateError(f"invalid project name {name!r}: use lower-case letters, digits "
                              "and '-' or '_', starting with a letter")  # fmt: skip
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        raise MltemplateError(f"invalid project name {name!r}: {package} is a Python keyword")
    if package in sys.stdlib_module_names or package in {"test", "tests", "src"}:
        raise MltemplateError(f"invalid project name {name!r}: {package} is a standard-library "
                              "module (or a folder every project has); pick another")  # fmt: skip
    return package


def resolve_options(template: Template, given: dict[str, bool]) -> dict[str, bool]:
    """Defaults overridden by ``given``.

    Raises:
        MltemplateError: An option the template does not have.
    """
    unknown = sorted(set(given) - set(template.options))
    if unknown:
        raise MltemplateError(f"unknown option(s) {', '.join(unknown)} for {template.name}; it "
                              f"has: {', '.join(template.options)}")  # fmt: skip
    return {k: given.get(k, default) for k, (default, _) in template.options.items()}


def _file_options(root: Path) -> dict[str, str]:
    doc = tomllib.loads((root / "_common" / "files.toml").read_text())
    return {str(k): str(v) for k, v in doc.get("files", {}).items()}


def render(template: Template, name: str, options: dict[str, bool]) -> dict[str, str]:
    """Relative path -> text of every file the project gets (answers and pristine excluded)."""
    package = check_name(name)
    root = template.path.parent
    gated = _file_options(root)
    context: dict[str, Any] = {"name": name, "package": package, "template": template.name,
                               "description": template.description,
                               "template_version": template.version,
                               "env_prefix": package.upper() + "_", **options}  # fmt: skip
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in reversed(template.layers())]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 (source code, YAML and TOML, not HTML)
    )
    out: dict[str, str] = {}
    for layer in template.layers():  # later layers' files win
        for source in sorted(p for p in layer.rglob("*") if p.is_file()):
            rel = source.relative_to(layer).as_posix()
            if (
                rel in {"template.toml", "files.toml"}
                or rel.startswith("_partials/")
                or ("__pycache__" in rel)
            ):
                continue
            if any(rel == g or rel.startswith(g.rstrip("/") + "/") for g in gated
                   if not options.get(gated[g], False)):  # fmt: skip
                continue
            target = rel.removesuffix(".j2").replace("PKG", package)
            if source.suffix == ".j2":
                try:
                    text = env.get_template(rel).render(**context)
                except jinja2.TemplateError as exc:
                    raise MltemplateError(f"template {template.name}: {rel}: {exc}") from None
            else:
                text = source.read_text()
            if text.strip():  # a template that renders to nothing is a file not wanted
                out[target] = text
    return out


def write_project(target: Path, template: Template, name: str, options: dict[str, bool],
                  files: dict[str, str]) -> None:  # fmt: skip
    """Write the files, the answers and the pristine copy, into ``target`` (made here)."""
    for rel, text in files.items():
        for base in (target, target / PRISTINE):
            path = base / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    answers = {"template": template.name, "version": template.version, "name": name,
               "options": options}  # fmt: skip
    (target / ANSWERS).write_text(json.dumps(answers, indent=2) + "\n")


def new(template: Template, name: str, options: dict[str, bool], target: Path, *,
        force: bool = False) -> dict[str, str]:  # fmt: skip
    """Render and write a new project.

    Raises:
        MltemplateError: The folder exists and is not empty (unless ``force``), or a bad name
            or option. Nothing is written then.
    """
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not force:
        raise MltemplateError(f"{target} exists and is not empty; pick another folder or --force")
    files = render(template, name, options)
    # Render into a sibling temp folder, then move: a failure leaves nothing half-written.
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".mltemplate-", dir=target.parent) as tmp:
        staged = Path(tmp) / "project"
        write_project(staged, template, name, options, files)
        if target.exists():
            for item in staged.iterdir():
                dest = target / item.name
                if dest.is_dir():
                    shutil.rmtree(dest)
                shutil.move(str(item), dest)
        else:
            shutil.move(str(staged), target)
    return files


def read_answers(project: Path) -> dict[str, Any]:
    """Raises: MltemplateError: not a generated project (no answers file)."""
    path = project / ANSWERS
    if not path.is_file():
        raise MltemplateError(f"{project} was not generated by mltemplate (no {ANSWERS})")
    try:
        answers: dict[str, Any] = json.loads(path.read_text())
    except ValueError as exc:
        raise MltemplateError(f"{path} is damaged: {exc}") from None
    return answers


@dataclass
class UpdateReport:
    """What ``update`` did to each file."""

    old_version: str
    new_version: str
    updated: list[str] = field(default_factory=list)  # the user had not touched it
    merged: list[str] = field(default_factory=list)  # both changed, merged cleanly
    conflicts: list[str] = field(default_factory=list)  # both changed the same lines
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # removed by the template, edited by the user


def _merge(ours: str, base: str, theirs: str, label: str) -> tuple[str, bool]:
    """``git merge-file``: (merged text, clean?)."""
    git = shutil.which("git")
    if git is None:
        raise MltemplateError("update needs git (git merge-file) on PATH")
    with tempfile.TemporaryDirectory(prefix="mltemplate-merge-") as tmp:
        paths = []
        for part, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(tmp) / part
            path.write_text(text)
            paths.append(str(path))
        done = subprocess.run(
            [git, "merge-file", "-p", "-L", f"{label} (yours)", "-L", f"{label} (template "
             "before)", "-L", f"{label} (template now)", *paths],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    if done.returncode < 0 or done.returncode > 127:
        raise MltemplateError(f"git merge-file failed on {label}: {done.stderr.strip()}")
    return done.stdout, done.returncode == 0


def update(project: Path, root: Path = TEMPLATES) -> UpdateReport:
    """Re-render ``project`` with the template as it is now and merge it in (see module doc)."""
    answers = read_answers(project)
    template = get_template(str(answers["template"]), root)
    options = resolve_options(template, {k: bool(v) for k, v in answers["options"].items()})
    theirs = render(template, str(answers["name"]), options)
    pristine = project / PRISTINE
    base = {p.relative_to(pristine).as_posix(): p.read_text()
            for p in pristine.rglob("*") if p.is_file()}  # fmt: skip
    report = UpdateReport(str(answers["version"]), template.version)
    for rel in sorted(set(base) | set(theirs)):
        path = project / rel
        ours = path.read_text() if path.is_file() else None
        old, new_text = base.get(rel), theirs.get(rel)
        if new_text == old:
            continue  # the template did not change it: the user's version stands
        if new_text is None:  # the template dropped it
            if ours == old:
                path.unlink(missing_ok=True)
                report.removed.append(rel)
            elif ours is not None:
                report.kept.append(rel)
            continue
        if ours is None or ours == old:
            report.added.append(rel) if old is None else report.updated.append(rel)
            merged, clean = new_text, True
        elif ours == new_text:
            continue
        else:
            merged, clean = _merge(ours, old or "", new_text, rel)
            (report.merged if clean else report.conflicts).append(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(merged)
    shutil.rmtree(pristine)
    for rel, text in theirs.items():
        (pristine / rel).parent.mkdir(parents=True, exist_ok=True)
        (pristine / rel).write_text(text)
    answers["version"] = template.version
    answers["options"] = options
    (project / ANSWERS).write_text(json.dumps(answers, indent=2) + "\n")
    return report
