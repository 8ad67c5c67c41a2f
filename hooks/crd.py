"""CRDs generated from the pydantic models, so the API server and the hooks cannot drift apart.

Pydantic writes JSON Schema 2020-12; a CRD needs a structural OpenAPI v3.0 schema. The
translation inlines `$ref`s, turns `X | None` into X, `int | str` into int-or-string, `Any`
into preserved unknown fields, and numeric exclusive bounds into OpenAPI's boolean form.
"""

from __future__ import annotations

from typing import Any

from hooks.api.kind import Kind

_KEEP = {
    "type",
    "description",
    "enum",
    "format",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "default",
    "required",
    "nullable",
    "maxProperties",
    "x-kubernetes-validations",
}
_INT_OR_STRING_KEEP = {"minimum", "maximum", "pattern", "minLength", "maxLength"}
"""Value checks an int-or-string node keeps: bounds apply to its integers, the rest to strings."""


def openapi_schema(model: Any, *, mode: str = "validation") -> dict[str, Any]:
    """Return the structural OpenAPI v3 schema of a pydantic model."""
    schema = model.model_json_schema(by_alias=True, mode=mode)
    defs = schema.pop("$defs", {})
    return _convert(schema, defs)


def _convert(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, defs)
    if "anyOf" in node:
        return _convert_union(node, defs)
    if "const" in node:
        node = {**node, "enum": [node["const"]]}
    out: dict[str, Any] = {k: v for k, v in node.items() if k in _KEEP}
    if "exclusiveMinimum" in node:
        out["minimum"], out["exclusiveMinimum"] = node["exclusiveMinimum"], True
    if "exclusiveMaximum" in node:
        out["maximum"], out["exclusiveMaximum"] = node["exclusiveMaximum"], True
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        out["type"] = "object"
        if "properties" in node:
            out["properties"] = {
                name: _convert(sub, defs) for name, sub in node["properties"].items()
            }
        additional = node.get("additionalProperties")
        keyed = node.get("patternProperties")
        if isinstance(keyed, dict) and len(keyed) == 1:
            # A map whose keys follow a pattern: the values' schema here, the keys' pattern in
            # a CEL rule the model gives (a structural schema cannot constrain keys).
            (additional,) = keyed.values()
        if isinstance(additional, dict):
            out["additionalProperties"] = _convert(additional, defs)
        elif "properties" not in node or additional is True:
            out["x-kubernetes-preserve-unknown-fields"] = True
    elif kind == "array":
        out["items"] = _convert(node.get("items") or {}, defs)
    elif kind is None:
        out["x-kubernetes-preserve-unknown-fields"] = True
    if out.get("default") is None:
        out.pop("default", None)
    if not out.get("required"):
        out.pop("required", None)
    return out


def _convert_union(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    options = [option for option in node["anyOf"] if option.get("type") != "null"]
    extra = {k: v for k, v in node.items() if k != "anyOf"}
    if len(options) == 1:
        return _convert({**options[0], **extra}, defs)
    types = {option.get("type") for option in options}
    if types == {"integer", "string"}:
        out = {k: v for k, v in extra.items() if k in {"description", "default"}}
        for option in options:
            out.update(
                {k: v for k, v in _convert(option, defs).items() if k in _INT_OR_STRING_KEEP}
            )
        out["x-kubernetes-int-or-string"] = True
        if out.get("default") is None:
            out.pop("default", None)
        return out
    if types == {"integer", "number"}:
        return _convert({**extra, "type": "number"}, defs)
    raise ValueError(f"cannot express union {types} in a structural schema")


def crd(kind: Kind) -> dict[str, Any]:
    """Return the apiextensions.k8s.io/v1 CustomResourceDefinition of a kind."""
    spec_schema = openapi_schema(kind.spec)
    status_schema = openapi_schema(kind.status, mode="serialization")
    status_schema["x-kubernetes-preserve-unknown-fields"] = True
    root = {
        "type": "object",
        "description": kind.description,
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec_schema,
            "status": status_schema,
        },
        "required": ["spec"],
    }
    subresources: dict[str, Any] = {"status": {}}
    if kind.scale:
        scale: dict[str, Any] = {
            "specReplicasPath": kind.scale.spec_replicas_path,
            "statusReplicasPath": kind.scale.status_replicas_path,
        }
        if kind.scale.label_selector_path:
            scale["labelSelectorPath"] = kind.scale.label_selector_path
        subresources["scale"] = scale
    version: dict[str, Any] = {
        "name": kind.version,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": root},
        "subresources": subresources,
    }
    if kind.printer_columns:
        version["additionalPrinterColumns"] = [
            {
                "name": column.name,
                "type": column.type,
                "jsonPath": column.json_path,
                **({"description": column.description} if column.description else {}),
                **({"priority": column.priority} if column.priority else {}),
            }
            for column in kind.printer_columns
        ]
    names: dict[str, Any] = {
        "kind": kind.kind,
        "listKind": f"{kind.kind}List",
        "plural": kind.plural,
        "singular": kind.singular,
        "categories": ["kubehooks"],
    }
    if kind.short_names:
        names["shortNames"] = list(kind.short_names)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": kind.crd_name,
            "labels": {"app.kubernetes.io/part-of": "kubehooks"},
        },
        "spec": {
            "group": kind.group,
            "names": names,
            "scope": "Namespaced",
            "versions": [version],
        },
    }
