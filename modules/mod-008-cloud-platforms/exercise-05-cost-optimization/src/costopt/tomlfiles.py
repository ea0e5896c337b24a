"""Read an array of TOML tables (``[[policy]]``, ``[[budget]]``) into pydantic models, with
one-line errors that name the file, the table and the field."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from costopt.errors import CostoptError

M = TypeVar("M", bound=BaseModel)


def load_tables(path: Path, key: str, model: type[M]) -> list[M]:
    """Every ``[[key]]`` table of the file, validated; at least one is required."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise CostoptError(f"{path}: cannot read it ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CostoptError(f"{path}: not valid TOML ({exc})") from exc
    raw = data.get(key, [])
    if not isinstance(raw, list) or not raw:
        raise CostoptError(f"{path}: no [[{key}]] tables")
    out = []
    for n, item in enumerate(raw, start=1):
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            name = item.get("name", "?") if isinstance(item, dict) else "?"
            raise CostoptError(f"{path}: {key} {n} ({name}): {where}: {first['msg']}") from exc
    return out
