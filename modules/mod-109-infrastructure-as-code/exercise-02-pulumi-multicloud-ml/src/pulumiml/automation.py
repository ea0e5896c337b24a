"""``pulumiml preview/up/destroy``: the Automation API driver.

It runs the same program (:func:`pulumiml.program.build`) inline, with the stack's spec set as
``pulumiml:platform`` config, on a local file backend (``--state-dir``; no Pulumi Cloud
account). It needs the ``pulumi`` CLI and cloud credentials. Without the CLI it stops with a
one-line message that says what to install and what works without it (``synth``, ``check``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pulumiml.errors import PulumimlError
from pulumiml.graph import PROJECT
from pulumiml.spec import PlatformSpec

Action = Literal["preview", "up", "destroy"]

INSTALL_HINT = (
    "the Pulumi CLI is not installed (no `pulumi` on PATH); install it from "
    "https://www.pulumi.com/docs/install/ and log in to a cloud to run preview/up/destroy. "
    "`pulumiml synth` and `pulumiml check` build and check the same stack offline."
)


def pulumi_cli() -> str:
    """Path of the ``pulumi`` CLI, or a :class:`PulumimlError` that says how to get one."""
    found = shutil.which("pulumi")
    if not found:
        raise PulumimlError(INSTALL_HINT)
    return found


def run(
    action: Action,
    stack: str,
    spec: PlatformSpec,
    *,
    state_dir: Path,
    on_output: Callable[[str], None] = print,
) -> dict[str, object]:
    """Run ``action`` on ``stack``; returns the stack outputs (``{}`` after destroy)."""
    pulumi_cli()  # fail fast, before importing the automation machinery
    from pulumi import automation as auto

    from pulumiml.program import build

    state_dir.mkdir(parents=True, exist_ok=True)

    def program() -> None:
        import pulumi

        for key, value in build(spec).items():
            pulumi.export(key, value)

    env = {"PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", "")}
    settings = auto.ProjectSettings(
        name=PROJECT,
        runtime="python",
        backend=auto.ProjectBackend(url=state_dir.resolve().as_uri()),
    )
    try:
        ws_stack = auto.create_or_select_stack(
            stack_name=stack,
            project_name=PROJECT,
            program=program,
            opts=auto.LocalWorkspaceOptions(project_settings=settings, env_vars=env),
        )
        ws_stack.set_config(
            "pulumiml:platform", auto.ConfigValue(json.dumps(spec.model_dump(mode="json")))
        )
        if action == "preview":
            ws_stack.preview(on_output=on_output)
            return {}
        if action == "up":
            result = ws_stack.up(on_output=on_output)
            return {k: v.value for k, v in result.outputs.items()}
        ws_stack.destroy(on_output=on_output)
        return {}
    except auto.errors.CommandError as exc:
        raise PulumimlError(f"pulumi {action} failed for stack {stack!r}: {exc}") from None
