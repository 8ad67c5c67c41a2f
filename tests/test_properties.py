"""Invariants over every controller, checked on the golden requests and random spec mutations."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import kubernetes_validate
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hooks.api.names import child_name_problems
from hooks.contract import SyncRequest
from hooks.policy import check_child
from hooks.registry import CONTROLLERS
from hooks.runtime import bind, run_sync
from hooks.settings import Settings
from tests.goldens import KUBERNETES_VERSION, GoldenCase, discover_cases
from tests.k8s_rules import child_problems
from tests.strategies import from_schema, relaxed

NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)
SYNC_CASES = [case for case in discover_cases() if case.hook in {"sync", "finalize"}]
WITH_CHILDREN = [
    case for case in SYNC_CASES if any(case.request["children"].values()) and case.hook == "sync"
]


def _answer(case: GoldenCase, request: dict[str, Any]) -> dict[str, Any]:
    settings = Settings.model_validate(case.meta.get("config", {}))
    bound = bind(
        CONTROLLERS[case.controller],
        settings.controller(case.controller),
        settings.policy,
        settings.limits,
    )
    return run_sync(bound, SyncRequest.model_validate(copy.deepcopy(request)), now=NOW).to_wire()


def _ids(cases: list[GoldenCase]) -> list[str]:
    return [case.id for case in cases]


@pytest.mark.parametrize("case", SYNC_CASES, ids=_ids(SYNC_CASES))
def test_same_request_twice_gives_identical_bytes(case: GoldenCase) -> None:
    assert orjson.dumps(_answer(case, case.request)) == orjson.dumps(_answer(case, case.request))


@pytest.mark.parametrize("case", SYNC_CASES, ids=_ids(SYNC_CASES))
def test_v1_and_v2_keys_give_the_same_answer(case: GoldenCase) -> None:
    v1 = copy.deepcopy(case.request)
    for group in ("children", "related"):
        v1[group] = {
            key: {obj["metadata"]["name"]: obj for obj in objects.values()}
            for key, objects in v1[group].items()
        }
    assert _answer(case, v1) == _answer(case, case.request)


@pytest.mark.parametrize("case", SYNC_CASES, ids=_ids(SYNC_CASES))
def test_every_child_matches_the_generated_selector(case: GoldenCase) -> None:
    uid = case.request["parent"]["metadata"]["uid"]
    for child in _answer(case, case.request)["children"]:
        assert child["metadata"]["labels"]["controller-uid"] == uid
        assert child["metadata"].get("namespace") == case.request["parent"]["metadata"]["namespace"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2000) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@pytest.mark.parametrize("case", WITH_CHILDREN, ids=_ids(WITH_CHILDREN))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_spec_that_fails_validation_keeps_every_observed_child(
    case: GoldenCase, data: st.DataObject
) -> None:
    request = copy.deepcopy(case.request)
    spec = request["parent"]["spec"]
    key = data.draw(st.sampled_from([*spec.keys(), "unknownField"]))
    spec[key] = data.draw(json_values)
    kind = CONTROLLERS[case.controller].kind
    try:
        kind.spec.model_validate(spec)
        return
    except ValidationError:
        pass
    answer = _answer(case, request)
    kept = {(c["kind"], c["metadata"]["name"]) for c in answer["children"]}
    observed = {
        (obj["kind"], obj["metadata"]["name"])
        for group in request["children"].values()
        for obj in group.values()
    }
    assert observed <= kept
    ready = [c for c in answer["status"]["conditions"] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "False"


# Random valid specs: whatever a user writes that the kind's schema accepts -----------------------


def _seed(controller: str) -> GoldenCase | None:
    """The controller's richest sync golden: steady state (observed children), else fresh."""
    for name in ("steady-state", "fresh-parent"):
        for case in SYNC_CASES:
            if case.controller == controller and case.folder.name == name:
                return case
    return None


SEEDS = [seed for seed in map(_seed, sorted(CONTROLLERS)) if seed is not None]


def _v1(request: dict[str, Any]) -> dict[str, Any]:
    v1 = copy.deepcopy(request)
    for group in ("children", "related"):
        v1[group] = {
            key: {obj["metadata"]["name"]: obj for obj in objects.values()}
            for key, objects in v1[group].items()
        }
    return v1


@pytest.mark.parametrize("case", SEEDS, ids=_ids(SEEDS))
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_schema_valid_spec_gives_safe_valid_deterministic_children(
    case: GoldenCase, data: st.DataObject
) -> None:
    """For specs drawn from the kind's own schema: the same bytes twice, v1 == v2, every child
    labelled for the generated selector, in the parent's namespace, inside the security policy,
    and valid against Kubernetes' OpenAPI (strict); the status fits the kind's status model."""
    controller = CONTROLLERS[case.controller]
    spec = data.draw(from_schema(controller.kind.spec.model_json_schema(by_alias=True)))
    request = copy.deepcopy(case.request)
    request["parent"]["spec"] = spec
    client = case.client()
    first = client.post(f"/{case.controller}/sync", json=request)
    second = client.post(f"/{case.controller}/sync", json=request)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_data() == second.get_data()
    answer = first.get_json()
    # Compared without HTTP: the test client re-sorts keys, which may reorder error messages.
    assert _answer(case, _v1(request)) == _answer(case, request)
    meta = request["parent"]["metadata"]
    policy = Settings.model_validate(case.meta.get("config", {})).policy
    validated: dict[str, int] = {}
    for child in answer["children"]:
        assert child["metadata"]["labels"]["controller-uid"] == meta["uid"]
        assert child["metadata"].get("namespace", meta["namespace"]) == meta["namespace"]
        check_child(child, meta["namespace"], policy)
        assert child_name_problems(child) == []
        if validated.get(child["kind"], 0) < 3:  # same-kind children share one shape
            kubernetes_validate.validate(child, KUBERNETES_VERSION, strict=True)
            validated[child["kind"]] = validated.get(child["kind"], 0) + 1
    controller.kind.status.model_validate({**answer["status"], "observedGeneration": 1})


@pytest.mark.parametrize("case", SEEDS, ids=_ids(SEEDS))
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_child_of_an_accepted_answer_is_one_kubernetes_accepts(
    case: GoldenCase, data: st.DataObject
) -> None:
    """Specs drawn from the kind's schema without its patterns, lengths and bounds (so names,
    ports, quantities and images take any value): the hook refuses the spec (Ready=False,
    children kept), or every child it answers passes Kubernetes' strict OpenAPI schema and
    Kubernetes' naming rules (issue 13, item 4: 258 of 1,278 accepted answers did not)."""
    controller = CONTROLLERS[case.controller]
    schema = relaxed(controller.kind.spec.model_json_schema(by_alias=True))
    request = copy.deepcopy(case.request)
    request["parent"]["spec"] = data.draw(from_schema(schema))
    answer = _answer(case, request)
    ready = [c for c in answer["status"].get("conditions") or [] if c["type"] == "Ready"]
    if ready and ready[0]["status"] == "False" and ready[0]["reason"].startswith("Invalid"):
        return
    for child in answer["children"]:
        assert child_problems(child) == [], child["metadata"]["name"]
    for child in _one_of_each_shape(answer["children"]):
        kubernetes_validate.validate(child, KUBERNETES_VERSION, strict=True)


def _one_of_each_shape(children: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the first and last child of each kind: Pods of one PodCluster share one shape."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for child in children:
        by_kind.setdefault(child["kind"], []).append(child)
    return [
        item
        for group in by_kind.values()
        for item in {id(g): g for g in (group[0], group[-1])}.values()
    ]
