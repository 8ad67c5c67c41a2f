"""A kind's create form, generated from its spec model's schema, and the submitted form back to a
spec: one generator for every served kind, plugins included.

The schema is the CRD's structural one (`hooks.crd.openapi_schema`: references inlined).
Scalars get an input each, enums a select, nested objects a fieldset; lists, maps and free-form
values a YAML (or JSON) textarea. Nothing is validated here beyond turning text into values: the
spec model decides, and its errors come back by field path to the field they name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from hooks.api.kind import Kind
from hooks.crd import openapi_schema

Schema = dict[str, Any]


@dataclass
class FormField:
    """One input (or fieldset) of a generated form; `path` is also the input's name."""

    path: str
    label: str
    widget: str
    """text, number, checkbox, select, yaml or fieldset."""
    help: str = ""
    required: bool = False
    value: str = ""
    options: tuple[str, ...] = ()
    children: list[FormField] = field(default_factory=list)
    error: str | None = None

    @property
    def id(self) -> str:
        """Return the element id (paths are dotted)."""
        return "f-" + self.path.replace(".", "-")


def _widget(schema: Schema) -> str:
    kind = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        return "text"
    if kind == "object" and schema.get("properties"):
        return "fieldset"
    if "enum" in schema:
        return "select"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "checkbox"
    if kind == "string":
        return "text"
    return "yaml"


def _default_text(schema: Schema, widget: str) -> str:
    if "default" not in schema:
        return ""
    default = schema["default"]
    if widget == "checkbox":
        return "on" if default else ""
    if widget == "yaml":
        return json.dumps(default)
    return str(default)


def build_fields(
    schema: Schema,
    submitted: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    prefix: str = "spec",
) -> list[FormField]:
    """Return the form's fields: defaults, or what was submitted, and errors at their paths."""
    required = set(schema.get("required") or ())
    fields = []
    for name, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}.{name}"
        widget = _widget(sub)
        found = FormField(
            path=path,
            label=name,
            widget=widget,
            help=str(sub.get("description") or ""),
            required=name in required,
            options=tuple(str(option) for option in sub.get("enum") or ()),
            error=(errors or {}).get(path),
        )
        if widget == "fieldset":
            found.children = build_fields(sub, submitted, errors, path)
        elif submitted is not None:
            found.value = submitted.get(path, "")
        else:
            found.value = _default_text(sub, widget)
        fields.append(found)
    return fields


def kind_fields(
    kind: Kind, submitted: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None
) -> list[FormField]:
    """Return the create form's spec fields of a kind."""
    return build_fields(openapi_schema(kind.spec), submitted, errors)


def _scalar(schema: Schema, text: str) -> Any:
    """Turn an input's text into the schema's type; text that does not convert is passed on
    as it is, so the spec model names the problem."""
    kind = schema.get("type")
    try:
        if schema.get("x-kubernetes-int-or-string"):
            return int(text) if text.lstrip("-").isdigit() else text
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text
    return text


def parse_spec(
    schema: Schema, form: Mapping[str, str], prefix: str = "spec"
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the spec a submitted form describes and the paths whose text cannot be read."""
    spec: dict[str, Any] = {}
    problems: dict[str, str] = {}
    required = set(schema.get("required") or ())
    for name, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}.{name}"
        widget = _widget(sub)
        text = form.get(path, "").strip()
        if widget == "fieldset":
            nested, nested_problems = parse_spec(sub, form, path)
            problems.update(nested_problems)
            untouched = nested == parse_spec(sub, default_form(sub, path), path)[0]
            if nested and (name in required or not untouched):
                spec[name] = nested
        elif widget == "checkbox":
            if text:
                spec[name] = True
            elif "default" in sub:
                spec[name] = False
        elif not text:
            continue
        elif widget == "yaml":
            try:
                spec[name] = yaml.safe_load(text)
            except yaml.YAMLError as err:
                problems[path] = f"not YAML or JSON: {err}".splitlines()[0]
        else:
            spec[name] = _scalar(sub, text)
    return spec, problems


def default_form(schema: Schema, prefix: str = "spec") -> dict[str, str]:
    """Return the form as first shown: each input's default text, by path. An optional nested
    object left at these is left out of the spec, so its defaults do not make it exist."""
    fields = _walk(build_fields(schema, prefix=prefix))
    return {item.path: item.value for item in fields if item.widget != "fieldset"}


def _walk(fields: list[FormField]) -> list[FormField]:
    """Return every field, fieldsets and what they hold, in order."""
    out = []
    for item in fields:
        out += [item, *_walk(item.children)]
    return out


def errors_by_field(
    fields: list[FormField], details: list[dict[str, Any]]
) -> tuple[dict[str, str], list[str]]:
    """Place each error at its field, or the nearest enclosing one (a list item's error goes to
    the list's textarea); what names no field is returned apart, for the top of the form."""
    paths = {item.path for item in _walk(fields)} | {"namespace", "name", "labels"}
    placed: dict[str, str] = {}
    loose: list[str] = []
    for detail in details:
        where = str(detail.get("field") or "")
        message = str(detail.get("message") or "")
        target = where
        while target and target not in paths:
            target = target.rpartition(".")[0]
        if not target:
            loose.append(f"{where}: {message}" if where else message)
            continue
        text = message if target == where else f"{where.removeprefix(target + '.')}: {message}"
        placed[target] = f"{placed[target]}; {text}" if target in placed else text
    return placed, loose


def parse_labels(text: str) -> dict[str, str] | None:
    """Return labels from `key=value` lines (or commas); None when a line is not one."""
    labels = {}
    for part in text.replace(",", "\n").splitlines():
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            return None
        labels[key.strip()] = value.strip()
    return labels
