"""Every golden case: the hook's answer through the HTTP app equals the reviewed file."""

from __future__ import annotations

import pytest

from tests.goldens import GoldenCase, assert_golden, discover_cases

CASES = discover_cases()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_golden(case: GoldenCase, update_goldens: bool) -> None:
    status, body = case.call()
    assert status == 200, body
    assert_golden(case.response_path, body, update=update_goldens)


def test_every_controller_has_the_basic_cases() -> None:
    from hooks.registry import CONTROLLERS

    names = {(case.controller, case.folder.name) for case in CASES}
    for controller in CONTROLLERS:
        for basic in ("fresh-parent", "steady-state", "v1-keys", "finalize-done"):
            assert (controller, basic) in names, f"{controller} lacks golden case {basic}"
        assert any(c == controller and "keeps-children" in n for c, n in names), (
            f"{controller} lacks a bad-spec case"
        )
