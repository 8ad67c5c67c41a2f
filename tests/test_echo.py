"""Echoed children: nothing read from a child is trusted, annotations included.

When a hook keeps observed children (a refused spec, a terminal phase, a Job that must not
change), it answers them as last applied. Anyone who may edit a child's annotations must not be
able to choose, through that answer, what Metacontroller creates with its cluster-wide rights.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hooks.registry as registry
from hooks.builders.meta import LAST_APPLIED
from hooks.builders.workloads import pod_specs_of
from hooks.contract import SyncRequest
from hooks.policy import SecurityPolicy, check_child
from hooks.runtime import LAST_APPLIED_TRUSTED, bind, run_sync
from hooks.settings import Settings
from tests.goldens import GoldenCase, discover_cases

Obj = dict[str, Any]
DEFAULT = SecurityPolicy()


def _case(case_id: str) -> GoldenCase:
    (case,) = [case for case in discover_cases() if case.id == case_id]
    return case


def _answer(case: GoldenCase, request: Obj) -> Obj:
    config = Settings.model_validate(case.meta.get("config", {}))
    bound = bind(
        registry.CONTROLLERS[case.controller],
        config.controller(case.controller),
        config.policy,
        config.limits,
    )
    return run_sync(bound, SyncRequest.model_validate(request), now=case.now).to_wire()


def _child(request: Obj, key: str) -> Obj:
    (child,) = request["children"][key].values()
    return dict(child)


def _with_annotation(request: Obj, key: str, applied: Obj | str) -> Obj:
    """Return the request with the one child of `key` carrying `applied` as last applied."""
    request = copy.deepcopy(request)
    (child,) = request["children"][key].values()
    raw = applied if isinstance(applied, str) else json.dumps(applied)
    child["metadata"].setdefault("annotations", {})[LAST_APPLIED] = raw
    return request


def _identities(children: list[Obj]) -> set[tuple[str, str, str]]:
    return {
        (c["kind"], c["metadata"].get("namespace", ""), c["metadata"]["name"]) for c in children
    }


def _hostile(applied: Obj, *, namespace: str | None = None, name: str | None = None) -> Obj:
    """Return `applied` moved and made privileged, with the host's root mounted."""
    hostile = copy.deepcopy(applied)
    if namespace is not None:
        hostile["metadata"]["namespace"] = namespace
    if name is not None:
        hostile["metadata"]["name"] = name
    for spec in pod_specs_of(hostile):
        spec.update(hostNetwork=True, hostPID=True)
        spec.setdefault("volumes", []).append({"name": "root", "hostPath": {"path": "/"}})
        spec["containers"][0]["securityContext"] = {"privileged": True}
    return hostile


def _echo_condition(answer: Obj) -> Obj | None:
    found = [c for c in answer["status"]["conditions"] if c["type"] == LAST_APPLIED_TRUSTED]
    return found[0] if found else None


DEPLOYMENT = "Deployment.apps/v1"
JOB = "Job.batch/v1"


def test_a_refused_spec_never_echoes_an_annotation_naming_another_object() -> None:
    case = _case("application/invalid-limits-keeps-children")
    observed = _child(case.request, DEPLOYMENT)
    applied = json.loads(observed["metadata"]["annotations"][LAST_APPLIED])
    request = _with_annotation(
        case.request, DEPLOYMENT, _hostile(applied, namespace="kube-system", name="evil")
    )
    answer = _answer(case, request)
    assert ("Deployment", "default", "application-sample") in _identities(answer["children"])
    assert all(c["metadata"].get("namespace") == "default" for c in answer["children"])
    for child in answer["children"]:
        check_child(child, "default", DEFAULT)
    ready = [c for c in answer["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["reason"] == "InvalidSpec"
    condition = _echo_condition(answer)
    assert condition is not None and condition["reason"] == "LastAppliedIgnored"
    assert "names another object" in condition["message"]
    assert "kube-system/evil" in condition["message"]


def test_a_running_job_keeps_its_observed_name_whatever_its_annotation_says() -> None:
    case = _case("aijob/steady-state")
    applied = json.loads(_child(case.request, JOB)["metadata"]["annotations"][LAST_APPLIED])
    applied["metadata"]["name"] = "renamed"
    answer = _answer(case, _with_annotation(case.request, JOB, applied))
    jobs = [c["metadata"]["name"] for c in answer["children"] if c["kind"] == "Job"]
    assert jobs == ["train"]
    condition = _echo_condition(answer)
    assert condition is not None and "Job default/train" in condition["message"]


def test_a_finished_job_moved_to_another_namespace_by_its_annotation_stays_put() -> None:
    case = _case("aijob/succeeded")
    applied = json.loads(_child(case.request, JOB)["metadata"]["annotations"][LAST_APPLIED])
    answer = _answer(
        case, _with_annotation(case.request, JOB, _hostile(applied, namespace="kube-system"))
    )
    assert answer["status"]["phase"] == "Succeeded"
    assert "kube-system" not in json.dumps(answer["children"])
    assert ("Job", "default", "train") in _identities(answer["children"])
    for child in answer["children"]:
        check_child(child, "default", DEFAULT)
    ready = [c for c in answer["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["reason"] != "PolicyViolation"


def test_an_annotation_that_breaks_the_policy_is_replaced_by_the_observed_object() -> None:
    case = _case("aijob/succeeded")
    observed = _child(case.request, JOB)
    applied = json.loads(observed["metadata"]["annotations"][LAST_APPLIED])
    answer = _answer(case, _with_annotation(case.request, JOB, _hostile(applied)))
    (job,) = [c for c in answer["children"] if c["kind"] == "Job"]
    assert job["spec"]["template"] == observed["spec"]["template"]
    condition = _echo_condition(answer)
    assert condition is not None and condition["reason"] == "LastAppliedIgnored"
    assert "breaks security policy" in condition["message"]


@pytest.mark.parametrize("raw", ["", "not json", "[1]", '{"kind": "Job"}'])
def test_an_unusable_annotation_echoes_the_observed_object_and_says_so(raw: str) -> None:
    case = _case("aijob/succeeded")
    answer = _answer(case, _with_annotation(case.request, JOB, raw))
    (job,) = [c for c in answer["children"] if c["kind"] == "Job"]
    assert "status" not in job and "uid" not in job["metadata"]
    assert LAST_APPLIED not in (job["metadata"].get("annotations") or {})
    assert _echo_condition(answer) is not None


def test_an_observed_child_that_itself_breaks_the_policy_is_not_answered() -> None:
    case = _case("aijob/succeeded")
    request = copy.deepcopy(case.request)
    (job,) = request["children"][JOB].values()
    applied = json.loads(job["metadata"]["annotations"][LAST_APPLIED])
    hostile = _hostile(job)
    job.clear()
    job.update(hostile)
    answer = _answer(case, _with_annotation(request, JOB, _hostile(applied)))
    assert [c for c in answer["children"] if c["kind"] == "Job"] == []
    condition = _echo_condition(answer)
    assert condition is not None and condition["reason"] == "ChildRefused"


def test_the_condition_goes_away_once_the_annotation_is_trusted_again() -> None:
    case = _case("aijob/succeeded")
    first = _answer(case, _with_annotation(case.request, JOB, "not json"))
    assert _echo_condition(first) is not None
    request = copy.deepcopy(case.request)
    request["parent"]["status"] = first["status"]
    assert _echo_condition(_answer(case, request)) is None


# The property: for any observed children and any annotation content, every (kind, namespace,
# name) answered is observed or built by the controller, and every child answered passes the
# policy. "Built" is what the controller answers for the same request with no annotations.

SYNC_CASES = [
    case
    for case in discover_cases()
    if case.hook == "sync"
    and any(group for group in case.request.get("children", {}).values())
    and not case.meta.get("config", {}).get("policy")
]

_NAMES = st.sampled_from(["train", "renamed", "evil", "application-sample", "x"])
_NAMESPACES = st.sampled_from([None, "default", "kube-system", "other"])


@st.composite
def _annotation(draw: st.DrawFn, observed: Obj) -> str | None:
    """Draw an annotation: none, garbage, the real one, or it moved, renamed or made hostile."""
    raw = (observed.get("metadata", {}).get("annotations") or {}).get(LAST_APPLIED)
    choice = draw(st.sampled_from(["none", "garbage", "same", "moved", "hostile", "json"]))
    if choice == "none":
        return None
    if choice == "garbage":
        return draw(st.text(max_size=20))
    if choice == "json":
        return json.dumps(
            draw(
                st.recursive(
                    st.none() | st.integers() | st.text(max_size=5),
                    lambda inner: (
                        st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=5), inner, max_size=3)
                    ),
                    max_leaves=8,
                )
            )
        )
    try:
        applied = json.loads(raw) if raw else copy.deepcopy(observed)
    except ValueError:
        applied = copy.deepcopy(observed)
    if not isinstance(applied, dict) or not isinstance(applied.get("metadata"), dict):
        return raw
    namespace = draw(_NAMESPACES) if choice in {"moved", "hostile"} else None
    name = draw(_NAMES) if choice == "moved" else None
    if choice == "hostile":
        return json.dumps(_hostile(applied, namespace=namespace))
    if choice == "moved":
        return json.dumps(
            _hostile(applied, namespace=namespace, name=name)
            if draw(st.booleans())
            else {
                **applied,
                "metadata": {
                    **applied["metadata"],
                    "name": name,
                    **({"namespace": namespace} if namespace else {}),
                },
            }
        )
    return raw


def _without_annotations(request: Obj) -> Obj:
    request = copy.deepcopy(request)
    for group in request["children"].values():
        for child in group.values():
            (child.get("metadata") or {}).get("annotations", {}).pop(LAST_APPLIED, None)
    return request


@pytest.mark.parametrize("case", SYNC_CASES, ids=lambda case: case.id)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_annotation_can_add_a_child_or_break_the_policy(case: GoldenCase, data: Any) -> None:
    request = copy.deepcopy(case.request)
    for group in request["children"].values():
        for child in group.values():
            annotations = child.setdefault("metadata", {}).setdefault("annotations", {})
            annotations.pop(LAST_APPLIED, None)
            raw = data.draw(_annotation(child))
            if raw is not None:
                annotations[LAST_APPLIED] = raw
    answer = _answer(case, request)
    namespace = request["parent"]["metadata"].get("namespace")
    observed = _identities(
        [child for group in request["children"].values() for child in group.values()]
    )
    built = _identities(_answer(case, _without_annotations(case.request))["children"])
    assert _identities(answer["children"]) <= observed | built
    for child in answer["children"]:
        check_child(child, namespace, DEFAULT)
