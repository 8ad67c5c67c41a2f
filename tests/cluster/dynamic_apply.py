"""TEST HARNESS: Metacontroller's default way of applying a child ("dynamic-apply").

Metacontroller v4.17 runs with `--apply-strategy=dynamic-apply` unless told otherwise
(pkg/cmd/metacontroller/main.go, flag `apply-strategy`). It does not use server-side apply:
it creates a child with the answer stored in the annotation
`metacontroller.k8s.io/last-applied-configuration`, and later computes, on the client, a
3-way merge of the observed object, that last-applied answer and the new answer, in the
style of `kubectl apply` but without any type knowledge. This module is that algorithm,
function by function, so the harness decides "does this child change?" exactly as
Metacontroller does (a local comparison, never a dry run).

Sources (metacontroller v4.17.2):
- pkg/dynamic/apply/apply.go: `Merge`, `merge`, `mergeObject`, `mergeArray`, `mergeListMap`,
  `detectListMapKey`, `knownMergeKeys`, `SetLastApplied`, `GetLastApplied`;
- pkg/controller/common/manage_children.go: `ApplyUpdate`, `revertObjectMetaSystemFields`,
  `revertField`, `objectMetaSystemFields`;
- pkg/controller/common/diff.go: `nullifyLastAppliedAnnotation`;
- pkg/controller/common/equality.go: `DeepEqual` (reflect.DeepEqual: types matter).
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from tests.cluster.kube import KubeObject

LAST_APPLIED = "metacontroller.k8s.io/last-applied-configuration"

KNOWN_MERGE_KEYS = ("containerPort", "port", "mountPath", "name", "uid", "ip", "path")
"""apply.go `knownMergeKeys`, in precedence order."""

OBJECT_META_SYSTEM_FIELDS = (
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
)
"""manage_children.go `objectMetaSystemFields`: reverted to the observed values."""


class ApplyError(ValueError):
    """The last-applied annotation cannot be read (`GetLastApplied`)."""


# -- Go's encoding/json, for the annotation ---------------------------------------------------


def _go_float(value: float) -> str:
    """Format a float64 as Go's encoding/json does (integral values without `.0`)."""
    if math.isnan(value) or math.isinf(value):
        raise ApplyError(f"json: unsupported value: {value}")
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:  # Go writes e+21 / e-07 with at least two exponent digits
        mantissa, exponent = text.split("e")
        sign = exponent[0] if exponent[0] in "+-" else "+"
        digits = exponent.lstrip("+-").rjust(2, "0")
        text = f"{mantissa}e{sign}{digits}"
    return text


def _go_string(value: str) -> str:
    """Quote a string as Go's encoding/json does (HTML-safe escapes, UTF-8 kept)."""
    text = json.dumps(value, ensure_ascii=False)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def go_json(value: Any) -> str:
    """Encode like Go's `json.Marshal` of a `map[string]interface{}`: keys sorted, compact."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return _go_string(value)
    if isinstance(value, list):
        return "[" + ",".join(go_json(item) for item in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{_go_string(k)}:{go_json(v)}" for k, v in items) + "}"
    raise ApplyError(f"json: unsupported type {type(value).__name__}")


# -- equality -----------------------------------------------------------------------------------


def deep_equal(left: Any, right: Any) -> bool:
    """reflect.DeepEqual on decoded JSON: unlike Python's ==, 1, 1.0 and True all differ."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(deep_equal(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(
            deep_equal(a, b) for a, b in zip(left, right, strict=True)
        )
    return bool(left == right)


# -- the 3-way merge (apply.go) -----------------------------------------------------------------


def merge(observed: KubeObject, last_applied: Any, desired: KubeObject) -> KubeObject:
    """apply.go `Merge`: apply the change from last_applied to desired onto a copy of observed."""
    destination = copy.deepcopy(observed)
    merged = _merge(destination, last_applied, copy.deepcopy(desired))
    assert isinstance(merged, dict)
    return merged


def _merge(destination: Any, last_applied: Any, desired: Any) -> Any:
    """apply.go `merge`. A last-applied or desired value of another JSON type than the
    destination counts as absent: Go's failed type assertion yields a nil map or slice, and
    the `!ok && val != nil` guard can then never fire."""
    if isinstance(destination, dict):
        last = last_applied if isinstance(last_applied, dict) else None
        wanted = desired if isinstance(desired, dict) else None
        return _merge_object(destination, last, wanted)
    if isinstance(destination, list):
        last_list = last_applied if isinstance(last_applied, list) else None
        wanted_list = desired if isinstance(desired, list) else None
        return _merge_array(destination, last_list, wanted_list)
    return desired  # a scalar or null: take the desired value


def _merge_object(
    destination: dict[str, Any], last_applied: dict[str, Any] | None, desired: dict[str, Any] | None
) -> dict[str, Any]:
    """apply.go `mergeObject`: drop what was applied and is no longer desired, then merge in
    everything desired (fields nobody applied, such as API server defaults, stay)."""
    last_applied = last_applied or {}
    desired = desired or {}
    for key in last_applied:
        if key not in desired:
            destination.pop(key, None)
    for key, value in desired.items():
        destination[key] = _merge(destination.get(key), last_applied.get(key), value)
    return destination


def _merge_array(
    destination: list[Any], last_applied: list[Any] | None, desired: list[Any] | None
) -> Any:
    """apply.go `mergeArray`: a list of objects sharing a known key merges item by item;
    any other list is replaced whole by the desired one."""
    key = detect_list_map_key(destination, last_applied or [], desired or [])
    if key:
        return _merge_list_map(key, destination, last_applied or [], desired or [])
    return desired


def _string_merge_key(value: Any) -> str:
    """apply.go `stringMergeKey` (fmt's %v for non-strings)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _list_map(key: str, items: list[Any]) -> dict[str, Any]:
    """apply.go `makeListMap`."""
    return {_string_merge_key(item.get(key)): item for item in items}


def _merge_list_map(
    key: str, destination: list[Any], last_applied: list[Any], desired: list[Any]
) -> list[Any]:
    """apply.go `mergeListMap`: merge as maps keyed by `key`, keeping the observed order,
    then appending new desired items in their order."""
    dest_map = _list_map(key, destination)
    _merge_object(dest_map, _list_map(key, last_applied), _list_map(key, desired))
    merged: list[Any] = []
    added: set[str] = set()
    for item in destination:
        name = _string_merge_key(item.get(key))
        if name in dest_map:
            merged.append(dest_map[name])
            added.add(name)
    for item in desired:
        name = _string_merge_key(item.get(key))
        if name not in added:
            merged.append(dest_map[name])
            added.add(name)
    return merged


def detect_list_map_key(*lists: list[Any]) -> str:
    """apply.go `detectListMapKey`: the first known merge key every object of every list has;
    empty when an item is not an object or no known key is common."""
    common: set[str] | None = None
    for items in lists:
        for item in items:
            if not isinstance(item, dict):
                return ""
            common = set(item) if common is None else common & set(item)
    for key in KNOWN_MERGE_KEYS:
        if common and key in common:
            return key
    return ""


# -- the annotation and ApplyUpdate (manage_children.go) ----------------------------------------


def get_last_applied(obj: KubeObject) -> Any:
    """apply.go `GetLastApplied`: the decoded annotation, or None when absent or empty."""
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED, "")
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError as err:
        raise ApplyError(f"can't unmarshal {LAST_APPLIED!r} annotation: {err}") from err


def set_last_applied(obj: KubeObject, applied: KubeObject) -> None:
    """apply.go `SetLastApplied`: store `applied`, Go-encoded, in the annotation (in place)."""
    meta = obj.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    annotations[LAST_APPLIED] = go_json(applied)
    meta["annotations"] = annotations


def nullify_last_applied(obj: KubeObject) -> None:
    """diff.go `nullifyLastAppliedAnnotation`: a desired object never carries the annotation
    (an emptied annotations map stays as `{}`, like unstructured's SetAnnotations)."""
    annotations = (obj.get("metadata") or {}).get("annotations")
    if annotations and LAST_APPLIED in annotations:
        obj["metadata"]["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}


def _revert(new: KubeObject, observed: KubeObject, *path: str) -> None:
    """manage_children.go `revertField`: the field as observed, or absent if it was absent."""
    source: Any = observed
    for part in path:
        source = source.get(part) if isinstance(source, dict) else None
        if source is None:
            break
    if source is not None:
        target = new
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = copy.deepcopy(source)
        return
    target_parent: Any = new
    for part in path[:-1]:
        target_parent = target_parent.get(part) if isinstance(target_parent, dict) else None
    if isinstance(target_parent, dict):
        target_parent.pop(path[-1], None)


def apply_update(observed: KubeObject, desired: KubeObject) -> KubeObject:
    """manage_children.go `ApplyUpdate`: the full object an update would write.

    Note that `desired` loses its annotation in place, as in Go.
    """
    last_applied = get_last_applied(observed)
    nullify_last_applied(desired)
    updated = merge(observed, last_applied, desired)
    for name in OBJECT_META_SYSTEM_FIELDS:
        _revert(updated, observed, "metadata", name)
    _revert(updated, observed, "status")
    set_last_applied(updated, desired)
    return updated


def for_create(desired: KubeObject) -> KubeObject:
    """`DynamicApply.Apply`, create branch: the answer itself goes into the annotation,
    before the owner reference is added (manage_children.go)."""
    created = copy.deepcopy(desired)
    set_last_applied(created, copy.deepcopy(desired))
    return created
