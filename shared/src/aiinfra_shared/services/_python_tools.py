"""Find console scripts installed by Python packages (mlflow, moto_server) in this env."""

from __future__ import annotations

import sys
from pathlib import Path

from aiinfra_shared.services.base import find_binary


def venv_script(name: str, install_hint: str) -> str:
    """A console script next to the running interpreter first, then on PATH.

    Looking next to ``sys.executable`` first means a package's own environment is used even
    when that environment is not activated (``.venvs/mlapi/bin/python -m ...``).
    """
    local = Path(sys.executable).parent / name
    if local.is_file():
        return str(local)
    return find_binary(name, install_hint)
