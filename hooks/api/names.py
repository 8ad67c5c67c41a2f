"""Kubernetes' own naming rules, in one place: the spec models, the CRDs and the runtime use them.

The formats and limits are those of k8s.io/apimachinery v0.37.2: `pkg/util/validation/
validation.go` (IsDNS1123Label, IsDNS1123Subdomain, IsDNS1035Label, IsValidPortName,
IsEnvVarName, IsConfigMapKey, IsValidPortNum) and `pkg/api/validate/content/kube.go`
(IsLabelKey, IsLabelValue), plus `pkg/api/validation/objectmeta.go` (ValidateAnnotations:
keys are label keys once lower-cased, 256 KiB in all). Every pattern is RE2, so the same text
works in pydantic, in a CRD's `pattern` and in CEL's `matches()`; rules a pattern cannot state
(lengths of a key's parts, the `..` prefix) are checked by the functions below.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, Field, WithJsonSchema

from hooks.errors import InvalidSpec

DNS1123_LABEL_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_FMT = rf"{DNS1123_LABEL_FMT}(\.{DNS1123_LABEL_FMT})*"
DNS1123_SUBDOMAIN_MAX = 253
DNS1035_LABEL_FMT = r"[a-z]([-a-z0-9]*[a-z0-9])?"
DNS1035_LABEL_MAX = 63

QUALIFIED_NAME_FMT = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
LABEL_KEY_MAX = DNS1123_SUBDOMAIN_MAX + 1 + QUALIFIED_NAME_MAX
_CASELESS_SUBDOMAIN_FMT = DNS1123_SUBDOMAIN_FMT.replace("a-z0-9", "A-Za-z0-9")

PORT_NAME_FMT = r"([a-z0-9]+-)*[0-9]*[a-z][a-z0-9]*(-[a-z0-9]+)*"
"""IsValidPortName (an IANA_SVC_NAME) without look-arounds: [-a-z0-9], at least one letter,
no leading, trailing or doubled hyphen."""
PORT_NAME_MAX = 15
PORT_MIN, PORT_MAX = 1, 65535

ENV_VAR_NAME_FMT = r"([-_a-zA-Z]|\.[-_a-zA-Z0-9])[-._a-zA-Z0-9]*"
"""IsEnvVarName (`[-._a-zA-Z][-._a-zA-Z0-9]*`, not `.`, `..` nor starting with `..`). Clusters
since v1.32 also accept any printable ASCII but `=`; the classic rule works on every cluster."""

ENV_VAR_NAME_MAX = 128
"""Not a Kubernetes limit: a bound that keeps the CRD's CEL rule on env names cheap enough."""

CONFIG_MAP_KEY_FMT = r"([-_a-zA-Z0-9]|\.[-_a-zA-Z0-9])[-._a-zA-Z0-9]*"
"""IsConfigMapKey (`[-._a-zA-Z0-9]+`, not `.`, `..` nor starting with `..`): a Secret's key."""
CONFIG_MAP_KEY_MAX = 253

TOTAL_ANNOTATION_SIZE = 256 * 1024
"""TotalAnnotationSizeLimitB: the keys and values of one object's annotations together."""


def anchored(fmt: str) -> str:
    """Return a format as a whole-string pattern."""
    return f"^{fmt}$"


DNS1123_LABEL = anchored(DNS1123_LABEL_FMT)
DNS1123_SUBDOMAIN = anchored(DNS1123_SUBDOMAIN_FMT)
DNS1035_LABEL = anchored(DNS1035_LABEL_FMT)
LABEL_VALUE = anchored(f"({QUALIFIED_NAME_FMT})?")
LABEL_KEY = anchored(f"({DNS1123_SUBDOMAIN_FMT}/)?{QUALIFIED_NAME_FMT}")
ANNOTATION_KEY = anchored(f"({_CASELESS_SUBDOMAIN_FMT}/)?{QUALIFIED_NAME_FMT}")
ANNOTATION_KEY_LOOSE = r"^([A-Za-z0-9][-A-Za-z0-9_.]*/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
"""ANNOTATION_KEY with a looser prefix, for the CRD's CEL rule: the full pattern makes the
rule's estimated cost exceed the API server's budget (map keys have no maxLength)."""
PORT_NAME = anchored(PORT_NAME_FMT)
ENV_VAR_NAME = anchored(ENV_VAR_NAME_FMT)
CONFIG_MAP_KEY = anchored(CONFIG_MAP_KEY_FMT)


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern[1:-1])


def _matches(pattern: str, value: str, limit: int) -> bool:
    return len(value) <= limit and _compiled(pattern).fullmatch(value) is not None


def is_dns1123_label(value: str) -> bool:
    """IsDNS1123Label: what Pod hostnames, container and most port names must be."""
    return _matches(DNS1123_LABEL, value, DNS1123_LABEL_MAX)


def is_dns1123_subdomain(value: str) -> bool:
    """IsDNS1123Subdomain: what most object names, and IngressClass names, must be."""
    return _matches(DNS1123_SUBDOMAIN, value, DNS1123_SUBDOMAIN_MAX)


def is_dns1035_label(value: str) -> bool:
    """IsDNS1035Label: what a Service's name must be (it starts with a letter)."""
    return _matches(DNS1035_LABEL, value, DNS1035_LABEL_MAX)


def is_label_value(value: str) -> bool:
    """IsLabelValue: empty, or up to 63 of [-A-Za-z0-9_.] starting and ending alphanumeric."""
    return _matches(LABEL_VALUE, value, LABEL_VALUE_MAX)


def is_label_key(value: str, *, caseless_prefix: bool = False) -> bool:
    """IsLabelKey: `[prefix/]name`, a DNS subdomain prefix and a qualified name of <= 63."""
    prefix, _, name = value.rpartition("/")
    if "/" in prefix or (value.count("/") == 1 and not prefix):
        return False
    if prefix and not is_dns1123_subdomain(prefix.lower() if caseless_prefix else prefix):
        return False
    return _matches(anchored(QUALIFIED_NAME_FMT), name, QUALIFIED_NAME_MAX)


def is_port_name(value: str) -> bool:
    """IsValidPortName: an IANA service name, as container ports and named targets take."""
    return _matches(PORT_NAME, value, PORT_NAME_MAX)


def check_annotations(annotations: dict[str, str]) -> dict[str, str]:
    """ValidateAnnotations: every key a label key (case aside) and 256 KiB at most in all."""
    bad = sorted(key for key in annotations if not is_label_key(key, caseless_prefix=True))
    if bad:
        raise ValueError(f"annotation keys {bad} are not [prefix/]name keys")
    size = sum(len(key) + len(value) for key, value in annotations.items())
    if size > TOTAL_ANNOTATION_SIZE:
        raise ValueError(f"annotations take {size} bytes, more than {TOTAL_ANNOTATION_SIZE}")
    return annotations


def check_unique(what: str, values: Iterable[str]) -> None:
    """Raise ValueError naming every value that occurs more than once."""
    repeated = sorted(value for value, count in Counter(values).items() if count > 1)
    if repeated:
        raise ValueError(f"{what} {', '.join(repeated)} is used more than once")


def _label_key(value: str) -> str:
    if not is_label_key(value):
        raise ValueError(f"{value!r} is not a label key ([prefix/]name, name <= 63)")
    return value


DNS1123Label = Annotated[
    str, Field(pattern=DNS1123_LABEL, min_length=1, max_length=DNS1123_LABEL_MAX)
]
DNS1123Subdomain = Annotated[
    str, Field(pattern=DNS1123_SUBDOMAIN, min_length=1, max_length=DNS1123_SUBDOMAIN_MAX)
]
PortName = Annotated[str, Field(pattern=PORT_NAME, min_length=1, max_length=PORT_NAME_MAX)]
EnvVarName = Annotated[str, Field(pattern=ENV_VAR_NAME, min_length=1, max_length=ENV_VAR_NAME_MAX)]
ConfigMapKey = Annotated[
    str, Field(pattern=CONFIG_MAP_KEY, min_length=1, max_length=CONFIG_MAP_KEY_MAX)
]
LabelKey = Annotated[str, Field(max_length=LABEL_KEY_MAX), AfterValidator(_label_key)]
PortNumber = Annotated[int, Field(ge=PORT_MIN, le=PORT_MAX)]

PORT_NUMBER_OR_NAME_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "integer", "minimum": PORT_MIN, "maximum": PORT_MAX},
            {"type": "string", "pattern": PORT_NAME, "minLength": 1, "maxLength": PORT_NAME_MAX},
        ]
    }
)
"""ValidatePortNumOrName as a schema: a port number, or an IANA service name."""


def port_number_or_name_problem(value: int | str) -> str | None:
    """Return why a port number or name would be refused (ValidatePortNumOrName), or None."""
    if isinstance(value, int):
        return None if PORT_MIN <= value <= PORT_MAX else f"{value} is not between 1 and 65535"
    if not is_port_name(value):
        return (
            f"{value!r} is not a port name (IANA_SVC_NAME: up to 15 of a-z, 0-9 and '-', "
            "with a letter, no '--', no '-' at either end)"
        )
    return None


def _port_number_or_name(value: int | str) -> int | str:
    problem = port_number_or_name_problem(value)
    if problem:
        raise ValueError(f"port {problem}")
    return value


PortNumberOrName = Annotated[
    int | str, AfterValidator(_port_number_or_name), PORT_NUMBER_OR_NAME_SCHEMA
]


def cel_keys_rule(pattern: str, what: str) -> dict[str, Any]:
    """Return the CEL rule that checks every key of a map field against `pattern`.

    A structural schema cannot constrain map keys, so the CRD says it in CEL (RE2, like the
    pattern). The key count is bounded by the field's maxProperties, which keeps the rule's
    estimated cost inside the API server's budget.
    """
    return {
        "rule": f"self.all(k, size(k) <= {LABEL_KEY_MAX} && k.matches({_cel_string(pattern)}))",
        "message": f"every key must be {what}",
    }


def _cel_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def cel_unique_rule(item: str, message: str) -> dict[str, Any]:
    """Return the CEL rule of a list whose items' optional `item` field must be unique."""
    return {
        "rule": f"self.all(a, !has(a.{item}) || self.exists_one(b, has(b.{item}) && "
        f"b.{item} == a.{item}))",
        "message": message,
    }


# Names of the children -----------------------------------------------------------------------

SERVICE_NAME_KINDS = frozenset({"Service"})
"""Kinds whose names are DNS-1035 labels (ValidateServiceName) rather than DNS subdomains."""

LABEL_NAMED_KINDS = frozenset({"Job"})
"""Kinds whose name the API server copies into a label of their Pods (`job-name`)."""


def child_name_problems(child: dict[str, Any]) -> list[str]:
    """Return what the API server would refuse in a child's names and labels.

    The checks that depend on the parent's name: metadata.name (a DNS-1035 label for a Service,
    a DNS subdomain otherwise), label keys and values (the object's and its Pod template's),
    and a Pod's hostname and subdomain (DNS-1123 labels).
    """
    kind = str(child.get("kind", ""))
    meta = child.get("metadata") or {}
    name = str(meta.get("name", ""))
    problems: list[str] = []
    if kind in SERVICE_NAME_KINDS:
        if not is_dns1035_label(name):
            problems.append(
                f"{kind} name {name!r} must be a DNS-1035 label (at most 63 of a-z, 0-9 "
                "and '-', starting with a letter)"
            )
    elif not is_dns1123_subdomain(name):
        problems.append(f"{kind} name {name!r} must be a DNS subdomain (at most 253 characters)")
    elif kind in LABEL_NAMED_KINDS and not is_label_value(name):
        problems.append(f"{kind} name {name!r} must fit in a label value (at most 63 characters)")
    problems += _label_problems(kind, name, meta.get("labels"))
    spec = child.get("spec") or {}
    template = spec.get("template") if isinstance(spec, dict) else None
    if isinstance(template, dict):
        problems += _label_problems(
            kind, f"{name} template", (template.get("metadata") or {}).get("labels")
        )
        spec = template.get("spec") or {}
    if isinstance(spec, dict):
        for field in ("hostname", "subdomain"):
            value = spec.get(field)
            if isinstance(value, str) and not is_dns1123_label(value):
                problems.append(
                    f"{kind} {name}: Pod {field} {value!r} must be a DNS-1123 label (at most 63 of "
                    "a-z, 0-9 and '-')"
                )
    return problems


def _label_problems(kind: str, name: str, labels: Any) -> list[str]:
    if not isinstance(labels, dict):
        return []
    try:
        if _are_labels(tuple(labels.items())):
            return []
    except TypeError:  # an unhashable value: not a label either
        pass
    where = f"{kind} {name}"
    problems = []
    for key, value in sorted(labels.items(), key=str):
        if not is_label_key(str(key)):
            problems.append(f"{where}: label key {key!r} is not a [prefix/]name key")
        if not isinstance(value, str) or not is_label_value(value):
            problems.append(
                f"{where}: label {key}={value!r} is not a label value (at most 63 of "
                "A-Z, a-z, 0-9, '-', '_' and '.', alphanumeric at both ends)"
            )
    return problems


@lru_cache(maxsize=256)
def _are_labels(items: tuple[tuple[Any, Any], ...]) -> bool:
    """Say whether every label is valid; cached, as a thousand Pods of one parent share theirs."""
    return all(
        isinstance(key, str)
        and isinstance(value, str)
        and is_label_key(key)
        and is_label_value(value)
        for key, value in items
    )


def check_child_names(child: dict[str, Any]) -> None:
    """Raise InvalidSpec (reason InvalidName) if the API server would refuse a child's names.

    Names come from the parent's own name (`<name>-<ordinal>` and the like), which the parent's
    CRD cannot constrain for every kind's children at once: the answer is refused here instead,
    so the runtime keeps the observed children and says why on the parent.
    """
    problems = child_name_problems(child)
    if problems:
        raise InvalidSpec("; ".join(problems[:3]), reason="InvalidName")
