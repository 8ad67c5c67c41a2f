"""The committed golden requests are exactly what tests/cases generates (`python -m
tests.make_fixtures` on a fresh clone rewrites nothing), and no folder is left without a case."""

from __future__ import annotations

import importlib
import json

import pytest

from hooks.registry import CONTROLLERS
from tests.cases.common import Case
from tests.make_fixtures import FIXTURES

CASES = [
    case for name in CONTROLLERS for case in importlib.import_module(f"tests.cases.{name}").cases()
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.controller}/{case.name}")
def test_committed_request_and_case_match_the_generator(case: Case) -> None:
    folder = FIXTURES / case.controller / case.name
    for name, data in (("request.json", case.request), ("case.json", case.meta())):
        committed = (folder / name).read_text(encoding="utf-8")
        assert committed == json.dumps(data, indent=2, sort_keys=True) + "\n", (
            f"{folder / name} drifted: run `python -m tests.make_fixtures` and review"
        )


def test_no_fixture_folder_without_a_case() -> None:
    generated = {(case.controller, case.name) for case in CASES}
    committed = {(path.parent.name, path.name) for path in FIXTURES.glob("*/*") if path.is_dir()}
    assert committed == generated
