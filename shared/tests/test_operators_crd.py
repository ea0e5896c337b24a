"""The operator helpers and CRD schema generation shared by 104-06 and 204."""

from __future__ import annotations

import itertools
from typing import Literal

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
