"""The StaticSite operator, tested with kubehooks' test kit (hooks.testing)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hooks import testing
from hypothesis import HealthCheck, given, settings

from staticsite.controller import CONTROLLER

HERE = Path(__file__).parent
CASES = testing.discover_cases(HERE / "goldens", plugins=("staticsite.controller:CONTROLLER",))
EXAMPLE = yaml.safe_load((HERE.parent / "example.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_golden(case: testing.GoldenCase, update_goldens: bool) -> None:
    status, body = case.call()
    assert status == 200, body
    testing.assert_golden(case.response_path, body, update=update_goldens)
    testing.validate_children(body["children"])


def test_the_crd_matches_the_model(update_goldens: bool) -> None:
    testing.check_crd_matches(CONTROLLER, HERE / "crd.yaml", update=update_goldens)


def test_the_example_keeps_every_property() -> None:
    testing.check_all_properties(CONTROLLER, EXAMPLE["spec"])


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=testing.spec_strategy(CONTROLLER))
def test_any_valid_spec_keeps_every_property(spec: dict[str, object]) -> None:
    testing.check_all_properties(CONTROLLER, spec)


def test_new_files_roll_the_pods_and_fill_the_configmap() -> None:
    site = testing.parent(CONTROLLER, "docs", EXAMPLE["spec"])
    before = testing.render(CONTROLLER, site)["children"]
    changed = testing.parent(CONTROLLER, "docs", {**EXAMPLE["spec"], "files": {"index.html": "v2"}})
    after = testing.render(CONTROLLER, changed, [testing.observe(c, site) for c in before])
    by_kind = {child["kind"]: child for child in after["children"]}
    assert by_kind["ConfigMap"]["data"] == {"index.html": "v2"}

    def files_hash(children: list[dict[str, object]]) -> object:
        (deploy,) = [c for c in children if c["kind"] == "Deployment"]
        return deploy["spec"]["template"]["metadata"]["annotations"]  # type: ignore[index]

    assert files_hash(before) != files_hash(after["children"])


def test_a_site_too_big_for_a_configmap_is_refused_and_keeps_the_running_one() -> None:
    site = testing.parent(CONTROLLER, "docs", EXAMPLE["spec"])
    running = [testing.observe(c, site) for c in testing.render(CONTROLLER, site)["children"]]
    huge = {**EXAMPLE["spec"], "files": {"index.html": "x" * 1_000_000}}
    testing.check_refused_spec_keeps_children(CONTROLLER, site, running, huge)
