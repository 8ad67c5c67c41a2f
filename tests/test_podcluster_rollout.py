"""PodCluster's rollout, done in the hook: one ordinal at a time, never more than one Pod down.

The loop below plays what Metacontroller does with an OnDelete child type (create what is
answered and missing, delete what is observed and not answered, never update), so these tests
would catch a hook that relies on Metacontroller to replace a Pod.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hooks.builders.meta import POD
from hooks.contract import SyncRequest
from hooks.controllers.podcluster import TEMPLATE_HASH
from hooks.registry import CONTROLLERS, PODS
from hooks.runtime import bind, run_sync
from hooks.settings import Settings
from tests.cases.common import observe, parent

NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)
NAME = "example-podcluster"
Obj = dict[str, Any]


def _sync(spec: Obj, pods: dict[str, Obj]) -> Obj:
    settings_ = Settings()
    bound = bind(
        CONTROLLERS["podcluster"],
        settings_.controller("podcluster"),
        settings_.policy,
        settings_.limits,
    )
    request = SyncRequest(
        parent=parent("podcluster", NAME, spec),
        children={POD: {f"default/{name}": pod for name, pod in pods.items()}},
    )
    return run_sync(bound, request, now=NOW).to_wire()


def _ready(pod: Obj, ready: bool) -> Obj:
    status = {"phase": "Running", "conditions": [{"type": "Ready", "status": str(ready)}]}
    return {**pod, "status": status}


def _image(pod: Obj) -> str:
    return str(pod["spec"]["containers"][0]["image"])


def _metacontroller_on_delete(observed: dict[str, Obj], answer: Obj, owner: Obj) -> None:
    """Apply an answer as Metacontroller does for an OnDelete child type (no updates)."""
    wanted = {child["metadata"]["name"]: child for child in answer["children"]}
    for name in list(observed):
        if name not in wanted:
            del observed[name]
    for name, child in wanted.items():
        if name not in observed:
            observed[name] = _ready(observe(copy.deepcopy(child), owner), False)


def test_a_new_image_rolls_out_one_pod_at_a_time() -> None:
    old, new = {"podReplicas": 4}, {"podReplicas": 4, "image": "nginx:1.27"}
    pods: dict[str, Obj] = {}
    for _ in range(3):
        _metacontroller_on_delete(pods, _sync(old, pods), parent("podcluster", NAME, old))
        pods = {name: _ready(pod, True) for name, pod in pods.items()}
    assert {_image(pod) for pod in pods.values()} == {"nginx"} and len(pods) == 4
    owner = parent("podcluster", NAME, new)
    for _ in range(40):
        answer = _sync(new, pods)
        _metacontroller_on_delete(pods, answer, owner)
        unavailable = 4 - sum(
            1 for pod in pods.values() if pod["status"]["conditions"][0]["status"] == "True"
        )
        assert unavailable <= 1
        pods = {name: _ready(pod, True) for name, pod in pods.items()}
        if all(_image(pod) == "nginx:1.27" for pod in pods.values()) and len(pods) == 4:
            break
    else:
        raise AssertionError("the rollout did not finish in 40 syncs")
    final = _sync(new, pods)
    progressing = [c for c in final["status"]["conditions"] if c["type"] == "Progressing"]
    assert progressing[0]["reason"] == "RolloutComplete"
    assert final["status"]["updatedReplicas"] == 4


STATES = st.sampled_from(
    ["missing", "terminating", "old-ready", "old-down", "new-ready", "new-down"]
)


@settings(max_examples=200, deadline=None)
@given(states=st.lists(STATES, min_size=0, max_size=6))
def test_a_rollout_never_drops_more_than_one_live_pod(states: list[str]) -> None:
    old, new = {"podReplicas": len(states)}, {"podReplicas": len(states), "image": "nginx:1.27"}
    template = {
        "old": _sync(old, {})["children"],
        "new": _sync(new, {})["children"],
    }
    pods: dict[str, Obj] = {}
    for ordinal, state in enumerate(states):
        if state == "missing":
            continue
        version = "new" if state.startswith("new") else "old"
        owner = parent("podcluster", NAME, new if version == "new" else old)
        pod = observe(
            copy.deepcopy(template[version][ordinal]), owner, deleting=state == "terminating"
        )
        pods[pod["metadata"]["name"]] = _ready(pod, state.endswith("ready"))
    answer = _sync(new, pods)
    answered = {child["metadata"]["name"]: child for child in answer["children"]}
    dropped = [name for name, pod in pods.items() if name not in answered]
    assert len(dropped) <= 1
    for name in dropped:
        assert (
            pods[name]["metadata"]["annotations"][TEMPLATE_HASH]
            != (template["new"][0]["metadata"]["annotations"][TEMPLATE_HASH])
        )
    if dropped:
        assert "missing" not in states and "terminating" not in states
        assert "new-down" not in states
    for name, child in answered.items():
        live = name in pods and "deletionTimestamp" not in pods[name]["metadata"]
        if live and _image(pods[name]) == "nginx":
            assert _image(child) == "nginx", "an old Pod is kept as applied, never updated"


def test_no_child_type_uses_a_metacontroller_rolling_strategy() -> None:
    assert PODS.update_strategy == "OnDelete"
    for controller in CONTROLLERS.values():
        for child in controller.children:
            assert not child.update_strategy.startswith("Rolling"), (controller.name, child.kind)
