"""CustomResourceDefinition schemas from pydantic models (for the operator exercises).

An operator validates its resource's ``spec`` with a pydantic model; the CRD's
``openAPIV3Schema`` is generated from the same model, so the two cannot disagree. The result is
a *structural* schema (no ``$ref``, ``anyOf`` collapsed where the model has one choice), which
is what the API server requires.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_KEEP = ("type", "description", "pattern", "minimum", "maximum", "enum", "minLength", "minItems")


def _structural(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _structural(defs[schema["$ref"].split("/")[-1]], defs)
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _structural(schema["allOf"][0], defs)
    if "anyOf" in schema:  # Optional[X]: X, nullable
        choices = [c for c in schema["anyOf"] if c.get("type") != "null"]
        if len(choices) == 1:
            return {**_structural(choices[0], defs), "nullable": True}
        return (
            {"x-kubernetes-int-or-string": True}
            if {c.get("type") for c in choices}
            == {
                "integer",
                "string",
            }
            else {"x-kubernetes-preserve-unknown-fields": True}
        )
    out: dict[str, Any] = {k: schema[k] for k in _KEEP if k in schema}
    if "const" in schema:
        out["enum"] = [schema["const"]]
    if schema.get("type") == "object":
        if "properties" in schema:
            out["properties"] = {k: _structural(v, defs) for k, v in schema["properties"].items()}
            if schema.get("required"):
                out["required"] = list(schema["required"])
        elif isinstance(schema.get("additionalProperties"), dict):
            out["additionalProperties"] = _structural(schema["additionalProperties"], defs)
        else:
            out["x-kubernetes-preserve-unknown-fields"] = True
    if schema.get("type") == "array" and "items" in schema:
        out["items"] = _structural(schema["items"], defs)
    return out


def openapi_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of a pydantic model (an object)."""
    schema = model.model_json_schema()
    return {**_structural(schema, schema.get("$defs", {})), "type": "object"}


def crd_manifest(
    model: type[BaseModel],
    *,
    group: str,
    version: str,
    kind: str,
    plural: str,
    short_names: list[str],
    columns: list[tuple[str, str, str]],
) -> dict[str, Any]:
    """A namespaced CRD with a status subresource, ``spec`` typed by ``model``.

    Args:
        model: The pydantic model of ``spec``.
        group: API group, e.g. ``ml.aiinfra.dev``.
        version: API version, e.g. ``v1alpha1``.
        kind: e.g. ``MLModel``.
        plural: e.g. ``mlmodels``.
        short_names: ``kubectl get`` aliases.
        columns: ``(name, type, jsonPath)`` of the printer columns (Age is added).
    """
    printer = [{"name": n, "type": t, "jsonPath": p} for n, t, p in columns]
    printer.append({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"})
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {
                "plural": plural,
                "singular": kind.lower(),
                "kind": kind,
                "shortNames": short_names,
                "categories": ["aiinfra"],
            },
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": printer,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": openapi_schema(model),
                                "status": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                },
                            },
                            "required": ["spec"],
                        }
                    },
                }
            ],
        },
    }
