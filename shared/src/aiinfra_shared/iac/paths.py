"""Where a Terraform exercise's shipped folders live, and throwaway copies to run Terraform in.

A package ships ``terraform/``, ``policies/`` and ``prices/`` next to ``src/`` (a repo
checkout) or inside the import package (a wheel, via hatch ``force-include``)::

    from aiinfra_shared.iac.paths import scratch_copy, shipped_dir

    def terraform_dir() -> Path:
        return shipped_dir(__file__, "terraform", TfmlError)
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiinfra_shared.errors import AiinfraError


def shipped_dir(module_file: str, name: str, error: type[AiinfraError] = AiinfraError) -> Path:
    """The folder ``name`` shipped with the package whose module is ``module_file``.

    Looks at ``<package root>/<name>`` (a checkout: ``src/<pkg>/x.py`` → two levels up) and at
    ``<pkg>/<name>`` (a wheel).

    Raises:
        AiinfraError: ``error``, when neither exists.
    """
    here = Path(module_file).resolve()
    for candidate in (here.parents[2] / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    raise error(f"the shipped {name}/ folder is missing near {here}")


@contextmanager
def scratch_copy(tree: Path, prefix: str) -> Iterator[Path]:
    """A throwaway copy of ``tree`` (without ``.terraform`` folders and state files).

    ``terraform init`` writes ``.terraform/`` next to the code: the shipped tree (maybe a
    read-only site-packages) stays untouched.
    """
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        copy = Path(tmp) / tree.name
        shutil.copytree(tree, copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
        yield copy
