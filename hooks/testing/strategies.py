"""Hypothesis strategies for values that fit a pydantic-generated JSON schema (a spec model's).

Small on purpose: it knows the keywords pydantic emits for spec models ($ref, anyOf, enum, type,
bounds, lengths, pattern, items, properties, required, additionalProperties); an unknown keyword
fails loudly rather than being ignored. Plain strings are drawn partly from hostile values
(capabilities, host paths, other namespaces) so that specs which pass through to Pods meet them.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

Schema = dict[str, Any]

HOSTILE_STRINGS = (
    "SYS_ADMIN",
    "cap_sys_admin",
    "ALL",
    "NET_RAW",
    "kube-system",
    "/",
    "/var/run/docker.sock",
    "Unmasked",
    "0",
    "",
)
KNOWN = {
    "$defs",
    "$ref",
    "additionalProperties",
    "anyOf",
    "default",
    "description",
    "enum",
    "const",
    "items",
    "maxItems",
    "maxLength",
    "maximum",
    "minItems",
    "minLength",
    "minimum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "pattern",
    "properties",
    "required",
    "title",
    "type",
    "format",
    "examples",
    "patternProperties",
    "minProperties",
    "maxProperties",
    "x-kubernetes-validations",
}


def from_schema(schema: Schema) -> st.SearchStrategy[Any]:
    """Return a strategy for JSON values valid against `schema` (with its own `$defs`)."""
    return _strategy(schema, schema.get("$defs", {}), depth=0)


def _strategy(schema: Schema, defs: Schema, depth: int) -> st.SearchStrategy[Any]:
    unknown = set(schema) - KNOWN
    if unknown:
        raise NotImplementedError(f"schema keywords {sorted(unknown)} are not supported")
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return st.deferred(lambda: _strategy(defs[name], defs, depth + 1))
    if "anyOf" in schema:
        return st.one_of([_strategy(option, defs, depth) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([_strategy({**schema, "type": item}, defs, depth) for item in kind])
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        low = schema.get("minimum", -5)
        if "exclusiveMinimum" in schema:
            low = schema["exclusiveMinimum"] + 1
        high = schema.get("maximum", max(low, 0) + 1000)
        if "exclusiveMaximum" in schema:
            high = schema["exclusiveMaximum"] - 1
        return st.integers(min_value=low, max_value=high)
    if kind == "number":
        return st.floats(
            min_value=schema.get("minimum", -1e6),
            max_value=schema.get("maximum", 1e6),
            allow_nan=False,
            allow_infinity=False,
        )
    if kind == "string":
        return _string(schema)
    if kind == "array":
        items = _strategy(schema.get("items", {"type": "string"}), defs, depth + 1)
        low = schema.get("minItems", 0)
        return st.lists(
            items, min_size=low, max_size=max(low, schema.get("maxItems", 3 if depth < 4 else 1))
        )
    if kind == "object" or "properties" in schema:
        return _object(schema, defs, depth)
    raise NotImplementedError(f"cannot generate values for {schema}")


def _string(schema: Schema) -> st.SearchStrategy[str]:
    low = schema.get("minLength", 0)
    high = schema.get("maxLength", 40)
    pattern = schema.get("pattern")
    hostile = [text for text in HOSTILE_STRINGS if pattern is None or re.search(pattern, text)]
    base: st.SearchStrategy[str] = (
        st.from_regex(str(pattern), fullmatch=True) if pattern else st.text(max_size=high)
    )
    strings: st.SearchStrategy[str] = st.one_of(st.sampled_from(hostile), base) if hostile else base
    return strings.filter(lambda text: low <= len(text) <= high)


def _object(schema: Schema, defs: Schema, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    properties: Schema = schema.get("properties", {})
    required = set(schema.get("required", []))
    if properties:
        fixed = {
            name: _strategy(sub, defs, depth + 1)
            for name, sub in properties.items()
            if name in required
        }
        optional = {
            name: _strategy(sub, defs, depth + 1)
            for name, sub in properties.items()
            if name not in required and depth < 6
        }
        return st.fixed_dictionaries(fixed, optional=optional)
    extra = schema.get("additionalProperties", True)
    values = _strategy(extra, defs, depth + 1) if isinstance(extra, dict) else st.text(max_size=8)
    keys: st.SearchStrategy[str] = st.text(min_size=1, max_size=12)
    for pattern, sub in schema.get("patternProperties", {}).items():
        # pydantic writes a constrained key type as one pattern, with the value schema
        keys = st.from_regex(pattern, fullmatch=True).filter(lambda key: 0 < len(key) <= 253)
        values = _strategy(sub, defs, depth + 1)
    low = schema.get("minProperties", 0)
    high = min(schema.get("maxProperties", 3), max(3, low))
    return st.dictionaries(keys, values, min_size=low, max_size=high)


LOOSE_KEYWORDS = {"pattern", "minLength", "maxLength", "minimum", "maximum", "format"}


def relaxed(schema: Any) -> Any:
    """Return `schema` without its string and number constraints (patterns, lengths, bounds), so
    values reach the model's own checks: a fuzzer's view of what a user may send."""
    if isinstance(schema, dict):
        out = {k: relaxed(v) for k, v in schema.items() if k not in LOOSE_KEYWORDS}
        if "patternProperties" in out:
            ((_, values),) = out.pop("patternProperties").items()
            out["additionalProperties"] = values
        return out
    if isinstance(schema, list):
        return [relaxed(item) for item in schema]
    return schema
