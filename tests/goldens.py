"""The project's golden cases, run by the test kit's golden runner (hooks.testing.goldens)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hooks.testing.goldens import (
    KUBERNETES_VERSION,
    GoldenCase,
    assert_golden,
    dumps,
    load,
)
from hooks.testing.goldens import discover_cases as discover_cases_under
from hooks.testing.goldens import golden_responses as golden_responses_under

FIXTURES = Path(__file__).parent / "fixtures"

__all__ = [
    "FIXTURES",
    "KUBERNETES_VERSION",
    "GoldenCase",
    "assert_golden",
    "discover_cases",
    "dumps",
    "golden_responses",
    "load",
]


def discover_cases() -> list[GoldenCase]:
    return discover_cases_under(FIXTURES)


def golden_responses() -> list[tuple[GoldenCase, dict[str, Any]]]:
    return golden_responses_under(FIXTURES)
