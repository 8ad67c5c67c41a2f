"""Kubernetes resource quantities (`500m`, `1.5Gi`, `2e3`): parsing and comparing them exactly.

The API server rejects a container whose request exceeds its limit, but only when the ReplicaSet
tries to create a Pod, long after the parent was accepted. Checking here turns that silent
failure into a condition on the parent. Values are exact fractions, so `1000m` equals `1`.
"""

from __future__ import annotations

import re
from fractions import Fraction

_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)
MAX_EXPONENT = 100
"""`1e9999999` would take seconds to compute exactly; no resource needs more than 10^100."""

QUANTITY_PATTERN = (
    r"^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$"
)
"""A non-negative quantity (the CRDs carry this pattern; `parse_quantity` reads the value)."""

WHOLE_UNITS = ("memory", "ephemeral-storage")
"""Bytes: the API server warns that a fractional byte value is invalid."""
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_quantity(value: int | str) -> Fraction:
    """Return the exact value of a quantity; raise ValueError for anything Kubernetes refuses."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, int):
        return Fraction(value)
    match = _QUANTITY.match(value.strip())
    if match is None or value != value.strip():
        raise ValueError(f"{value!r} is not a quantity (such as 500m, 1.5Gi or 2)")
    number = Fraction(match["number"])
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        return number * Fraction(1024) ** _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * Fraction(10) ** _DECIMAL[suffix]
    if suffix:
        exponent = int(suffix[1:])
        if abs(exponent) > MAX_EXPONENT:
            raise ValueError(f"{value!r}: the exponent is out of range")
        return number * Fraction(10) ** exponent
    return number


def check_limits_cover_requests(
    requests: dict[str, int | str] | None, limits: dict[str, int | str] | None
) -> None:
    """Raise ValueError if a quantity does not parse, or a limit is below its request."""
    parsed_requests = {name: parse_quantity(value) for name, value in (requests or {}).items()}
    parsed_limits = {name: parse_quantity(value) for name, value in (limits or {}).items()}
    for name, request in sorted(parsed_requests.items()):
        limit = parsed_limits.get(name)
        if limit is not None and limit < request:
            raise ValueError(
                f"limits.{name} ({(limits or {})[name]}) is below requests.{name} "
                f"({(requests or {})[name]})"
            )


def check_resources(
    requests: dict[str, int | str] | None, limits: dict[str, int | str] | None
) -> None:
    """Raise ValueError for anything the API server refuses (or warns of) in a container's
    resources (validateResourceRequirements in pkg/apis/core/validation, v1.37).

    Quantities are non-negative, bytes whole, limits cover requests; an extended resource
    (a domain-prefixed name such as nvidia.com/gpu) is whole, cannot be overcommitted (its
    request equals its limit) and needs a limit.
    """
    check_limits_cover_requests(requests, limits)
    for half, values in (("requests", requests or {}), ("limits", limits or {})):
        for name, value in sorted(values.items()):
            amount = parse_quantity(value)
            if amount < 0:
                raise ValueError(f"{half}.{name} ({value}) is negative")
            whole = name in WHOLE_UNITS or "/" in name
            if whole and amount.denominator != 1:
                raise ValueError(f"{half}.{name} ({value}) must be a whole number")
            if "/" in name and not _is_extended(name):
                raise ValueError(f"{half}.{name}: not an extended resource name")
    for name, value in sorted((requests or {}).items()):
        if "/" not in name:
            continue
        limit = (limits or {}).get(name)
        if limit is None or parse_quantity(limit) != parse_quantity(value):
            raise ValueError(f"requests.{name} ({value}) needs an equal limit (not overcommitable)")


def _is_extended(name: str) -> bool:
    """IsExtendedResourceName: outside kubernetes.io, and `requests.<name>` a qualified name."""
    domain, _, base = name.partition("/")
    native = "kubernetes.io/" in name or name.startswith("requests.")
    return not native and len("requests." + domain) <= 253 and len(base) <= 63
