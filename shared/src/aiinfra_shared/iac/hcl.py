"""Read a Terraform configuration folder with python-hcl2 into plain Python objects.

Only what the checks need: variables, outputs, resources, data sources, module calls, locals,
the backend. Expressions stay strings (``"${var.name}"``); literals come back as Python values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

from aiinfra_shared.iac.errors import IacError

_OPTIONS = SerializationOptions(
    explicit_blocks=False, with_comments=False, preserve_heredocs=False, strip_string_quotes=True
)

#: Arguments of a module block that are Terraform's, not the module's variables.
META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}


@dataclass(frozen=True)
class Variable:
    name: str
    type: str | None
    description: str | None
    default: Any
    has_default: bool
    validations: int
    file: str


@dataclass(frozen=True)
class Output:
    name: str
    description: str | None
    value: Any
    file: str


@dataclass(frozen=True)
class Block:
    """A resource, data source or module call: ``kind`` is the resource type or ``module``."""

    kind: str
    name: str
    body: dict[str, Any]
    file: str

    @property
    def address(self) -> str:
        return f"module.{self.name}" if self.kind == "module" else f"{self.kind}.{self.name}"


@dataclass
class Config:
    """One folder of ``.tf`` files (a module or a root configuration)."""

    path: Path
    variables: dict[str, Variable] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    resources: list[Block] = field(default_factory=list)
    data: list[Block] = field(default_factory=list)
    modules: dict[str, Block] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    backend: dict[str, Any] | None = None
    required_providers: dict[str, Any] = field(default_factory=dict)
    #: Raw text of every file, for reference searches (``var.x``, ``module.y.z``).
    text: str = ""

    def references(self, prefix: str) -> set[str]:
        """Names referenced as ``<prefix>.<name>`` anywhere (``var``, ``local``, ``module``)."""
        return set(re.findall(rf"\b{re.escape(prefix)}\.([A-Za-z_][\w-]*)", self.text))

    def module_output_references(self, call: str) -> set[str]:
        """Outputs of ``module.<call>`` this configuration reads."""
        return set(re.findall(rf"\bmodule\.{re.escape(call)}\.([A-Za-z_][\w-]*)", self.text))


def _type_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def parse_file(path: Path) -> dict[str, Any]:
    """One ``.tf`` file as python-hcl2's dict; a syntax error names the file."""
    try:
        with path.open() as handle:
            return hcl2.load(handle, serialization_options=_OPTIONS)
    except Exception as exc:  # lark raises several unrelated exception types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IacError(f"{path}: not valid HCL: {first}") from None


def load(path: Path) -> Config:
    """Every ``*.tf`` file of ``path`` (not sub-folders), merged into one :class:`Config`."""
    if not path.is_dir():
        raise IacError(f"{path} is not a folder")
    files = sorted(path.glob("*.tf"))
    if not files:
        raise IacError(f"{path} has no .tf files")
    config = Config(path=path)
    texts = []
    for file in files:
        texts.append(file.read_text())
        doc = parse_file(file)
        name = file.name
        for entry in doc.get("variable", []):
            for var, body in entry.items():
                config.variables[var] = Variable(
                    name=var,
                    type=_type_text(body.get("type")),
                    description=body.get("description"),
                    default=body.get("default"),
                    has_default="default" in body,
                    validations=len(body.get("validation", [])),
                    file=name,
                )
        for entry in doc.get("output", []):
            for out, body in entry.items():
                config.outputs[out] = Output(out, body.get("description"), body.get("value"), name)
        for entry in doc.get("resource", []):
            for rtype, named in entry.items():
                for rname, body in named.items():
                    config.resources.append(Block(rtype, rname, body, name))
        for entry in doc.get("data", []):
            for dtype, named in entry.items():
                for dname, body in named.items():
                    config.data.append(Block(dtype, dname, body, name))
        for entry in doc.get("module", []):
            for call, body in entry.items():
                config.modules[call] = Block("module", call, body, name)
        for entry in doc.get("locals", []):
            config.locals.update(entry)
        for entry in doc.get("terraform", []):
            for backend in entry.get("backend", []):
                config.backend = backend
            for providers in entry.get("required_providers", []):
                config.required_providers.update(providers)
    config.text = "\n".join(texts)
    return config


def module_source(config: Config, call: Block) -> Path | None:
    """Folder of a local module call (``source = "../x"``); None for registry sources."""
    source = str(call.body.get("source", ""))
    if source.startswith(("./", "../")):
        return (config.path / source).resolve()
    return None
