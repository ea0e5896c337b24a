"""The operator helpers and CRD schema generation shared by 104-06 and 204."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from aiinfra_shared.crd import crd_manifest, openapi_schema
from aiinfra_shared.operators import eventually


class Inner(BaseModel):
    size: str = Field(default="1Gi", pattern=r"^\d+Gi$")


class Spec(BaseModel):
    name: str = Field(min_length=1)
    replicas: int = Field(default=1, ge=0, le=10)
    mode: Literal["a", "b"] = "a"
    inner: Inner = Field(default_factory=Inner)
    optional: Inner | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    args: list[str] = Field(default_factory=list)


def test_openapi_schema_is_structural() -> None:
    schema = openapi_schema(Spec)
    props = schema["properties"]
    assert schema["type"] == "object"
    assert schema["required"] == ["name"]
    assert props["replicas"] == {"type": "integer", "minimum": 0, "maximum": 10}
    assert props["mode"]["enum"] == ["a", "b"]
    assert props["inner"]["properties"]["size"]["pattern"] == r"^\d+Gi$"  # $ref resolved
    assert props["optional"]["nullable"] is True
    assert props["labels"]["additionalProperties"] == {"type": "string"}
    assert props["args"]["items"] == {"type": "string"}
    assert "$ref" not in str(schema)
    assert "anyOf" not in str(schema)


def test_crd_manifest_has_status_and_printer_columns() -> None:
    crd = crd_manifest(Spec, group="x.dev", version="v1", kind="Thing", plural="things",
                       short_names=["th"], columns=[("Mode", "string", ".spec.mode")])  # fmt: skip
    assert crd["metadata"]["name"] == "things.x.dev"
    (version,) = crd["spec"]["versions"]
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == ["Mode", "Age"]
    assert version["schema"]["openAPIV3Schema"]["properties"]["spec"] == openapi_schema(Spec)


def test_eventually_waits_retries_through_errors_and_times_out() -> None:
    calls = itertools.count()

    def ready_on_third() -> int:
        n = next(calls)
        if n == 0:
            raise KeyError("not yet")
        return n if n >= 2 else 0

    assert eventually(ready_on_third, timeout=5, interval=0.01) == 2
    with pytest.raises(AssertionError, match="timed out waiting for the moon: last 0"):
        eventually(lambda: 0, timeout=0.05, what="the moon", interval=0.01)
    assert eventually(lambda: 0, timeout=0.05, interval=0.01, raise_on_timeout=False) is None


def test_operator_app_prints_the_crd_and_refuses_a_missing_kubeconfig() -> None:
    from typer.testing import CliRunner

    from aiinfra_shared.errors import AiinfraError
    from aiinfra_shared.operators import operator_app

    shown: list[object] = []
    app = operator_app(
        help_text="test operator", handlers="nothing.here",
        crd=lambda: {"kind": "CustomResourceDefinition"}, demo=shown.append, demo_help="demo",
    )  # fmt: skip
    runner = CliRunner()
    assert runner.invoke(app, ["crd"]).output == "kind: CustomResourceDefinition\n"
    refused = runner.invoke(app, ["run", "--kubeconfig", "/no/such/file"])
    assert isinstance(refused.exception, AiinfraError)
    assert "no such kubeconfig: /no/such/file" in str(refused.exception)
    assert runner.invoke(app, ["demo"]).exit_code == 0
    assert len(shown) == 1


_UNREACHABLE = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not: [valid", "cannot load the kubeconfig"),
        ("apiVersion: v1\nkind: Config\n", "cannot load the kubeconfig"),
        (_UNREACHABLE, "cannot reach the Kubernetes API at https://127.0.0.1:9"),
    ],
    ids=["malformed", "empty", "unreachable"],
)
def test_preflight_answers_a_bad_kubeconfig_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, expected: str
) -> None:
    from aiinfra_shared.errors import AiinfraError
    from aiinfra_shared.operators import preflight

    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(content)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    started = time.monotonic()
    with pytest.raises(AiinfraError) as refused:
        preflight(timeout=2)
    assert expected in str(refused.value)
    assert "\n" not in str(refused.value)
    assert time.monotonic() - started < 10  # no retry loop (a generous bound, not a benchmark)


@pytest.mark.integration
def test_preflight_names_a_missing_crd_then_passes(k8s_client: Any) -> None:
    from aiinfra_shared.errors import AiinfraError
    from aiinfra_shared.operators import preflight

    crd = crd_manifest(Spec, group="test.aiinfra.dev", version="v1", kind="Thing",
                       plural="things", short_names=[], columns=[])  # fmt: skip
    with pytest.raises(AiinfraError, match=r"the CRD things\.test\.aiinfra\.dev is not installed"):
        preflight(crd)
    from kubernetes import client

    client.ApiextensionsV1Api().create_custom_resource_definition(crd)
    assert preflight(crd).startswith("http://127.0.0.1:")
