"""``aiinfra new``: render the package template so every package starts the same shape."""

from __future__ import annotations

import json
import string
import textwrap
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from aiinfra_shared import workspace
from aiinfra_shared.errors import AiinfraError

TEMPLATE = "package"
FOLDER_PREFIXES = ("modules/mod-", "projects/project-")


def _walk(node: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    files: list[tuple[str, Traversable]] = []
    for child in node.iterdir():
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            if child.name != "__pycache__":
                files += _walk(child, rel + "/")
        else:
            files.append((rel, child))
    return files


def create(root: Path, *, exercise_id: str, folder: str, short: str, title: str) -> Path:
    """Render the template into ``root/folder``.

    Args:
        root: Workspace root.
        exercise_id: Curriculum id (``101-04``).
        folder: Target folder, relative to the root.
        short: Short name; the distribution is ``aiinfra-<short>``.
        title: One-line title.

    Returns:
        The created folder.

    Raises:
        AiinfraError: Bad id, short name or folder, or an id/short already taken.
    """
    if not workspace.ID_PATTERN.match(exercise_id):
        raise AiinfraError(f"id must look like 101-04 or 203, got {exercise_id!r}")
    if not workspace.SHORT_PATTERN.match(short):
        raise AiinfraError(f"short name must be lowercase letters and digits, got {short!r}")
    if not folder.startswith(FOLDER_PREFIXES) or ".." in Path(folder).parts:
        raise AiinfraError(
            f"folder must be under {' or '.join(FOLDER_PREFIXES)}..., got {folder!r}"
        )
    target = root / folder
    if target.exists():
        raise AiinfraError(f"{folder} already exists")
    for member in workspace.discover(root):
        if member.id == exercise_id or member.short == short:
            raise AiinfraError(
                f"{member.rel(root)} already uses id {member.id} / name {member.short}"
            )

    values = {
        "id": exercise_id,
        "short": short,
        "title": title,
        "env_prefix": short.upper() + "_",
        "cls": short.capitalize(),
        # Titles run long: wrapped so that the generated code passes ruff's E501 (100).
        "doc_title": "\n".join(
            textwrap.wrap(f"{exercise_id}: {title}", 96, break_on_hyphens=False)
        ),
        "title_literal": "\n".join(
            f"    {json.dumps(chunk)}"
            for chunk in textwrap.wrap(
                f"{exercise_id}: {title}", 88, drop_whitespace=False, break_on_hyphens=False
            )
        ),
    }
    template = resources.files("aiinfra_shared") / "templates" / TEMPLATE
    for rel, node in _walk(template):
        out_rel = rel.replace("__short__", short).removesuffix(".tmpl")
        out = target / out_rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(string.Template(node.read_text()).substitute(values))
    return target
