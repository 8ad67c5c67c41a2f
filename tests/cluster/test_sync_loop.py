"""Each controller driven through create -> scale -> spec change -> bad spec -> delete against
the real API server, with the TEST HARNESS (tests/cluster/harness.py) playing Metacontroller
and the real hook server (`python -m hooks serve`) answering over HTTP.

The scenarios are a table (tests/cluster/scenarios.py). After every step the test checks, on
top of the step's own expectations: the sync reached a pass that changed nothing (so the
hook's answer is deterministic), one more pass is answered from the ETag cache and changes
nothing, the status was written through the status subresource with observedGeneration and
validates against the kind's status model, the Ready condition is as expected, and every
child carries the controller-uid label and a controller ownerReference to the parent.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from hooks.registry import CONTROLLERS
from tests.cluster.artefacts import (
    CRD_RESOURCE,
    EXAMPLES,
    documents,
)
from tests.cluster.harness import CONTROLLER_UID, Metacontroller, SyncResult
from tests.cluster.kube import ApiError, Kube, KubeObject, Resource
from tests.cluster.scenarios import SCENARIOS, Scenario, Step, View
from tests.cluster.world import namespace_controller_pass, settler

pytestmark = pytest.mark.cluster


def view_of(harness: Metacontroller, namespace: str, name: str) -> View:
    parent = harness.kube.get(harness.parent_resource, namespace, name)
    children = {}
    for rule in harness.rules:
        selector = f"{CONTROLLER_UID}={parent['metadata']['uid']}"
        for obj in harness.kube.list(rule.resource, namespace, selector=selector):
            children[f"{obj['kind']} {obj['metadata']['name']}"] = obj
    return View(parent, children)


@contextmanager
def relaxed_spec_schema(kube: Kube, kind: str) -> Iterator[None]:
    """Let the CRD of `kind` accept any spec for a while, then restore its schema.

    A stored parent whose spec the current schema refuses is what a cluster has after an
    upgrade tightened the schema (CRD validation ratcheting lets it be updated as long as the
    bad field stays unchanged); this is how such a spec reaches a hook.
    """
    crds = kube.resource(CRD_RESOURCE[0], kind=CRD_RESOURCE[1])
    (live,) = [c for c in kube.list(crds) if c["spec"]["names"]["kind"] == kind]
    name = live["metadata"]["name"]
    original = [copy.deepcopy(v["schema"]) for v in live["spec"]["versions"]]
    relaxed = copy.deepcopy(live)
    for version in relaxed["spec"]["versions"]:
        version["schema"]["openAPIV3Schema"]["properties"]["spec"] = {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
        }
    kube.update(relaxed)
    try:
        yield
    finally:
        restored = kube.get(crds, None, name)
        for version, schema in zip(restored["spec"]["versions"], original, strict=True):
            version["schema"] = schema
        kube.update(restored)


def patch_until_accepted(
    kube: Kube, resource: Resource, namespace: str, name: str, patch: KubeObject
) -> KubeObject:
    """Apply a merge patch, retrying while a just-updated CRD schema is being picked up."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return kube.patch(resource, namespace, name, patch)
        except ApiError as err:
            if err.status != 422 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_refused(kube: Kube, resource: Resource, namespace: str, name: str) -> None:
    """Wait until the restored CRD schema refuses the stored spec again.

    Checked with a dry-run create of a copy: an update would be let through by ratcheting.
    """
    live = kube.get(resource, namespace, name)
    probe = {
        "apiVersion": live["apiVersion"],
        "kind": live["kind"],
        "metadata": {"name": f"{name}-schema-probe", "namespace": namespace},
        "spec": live["spec"],
    }
    deadline = time.monotonic() + 30
    while True:
        try:
            kube.create(probe, dry_run=True)
        except ApiError as err:
            if err.status == 422:
                return
            raise
        if time.monotonic() > deadline:
            raise AssertionError("the restored CRD schema still accepts the bad spec")
        time.sleep(0.2)


def sync_settled(
    harness: Metacontroller, namespace: str, name: str, before: Any
) -> list[SyncResult]:
    """`sync_until_stable` of our CompositeControllers, which use no rolling strategy (a test
    checks): with one, Metacontroller's own `Updated` condition and its ControllerRevisions
    broke status writes and namespace deletion (issue 14; tests/cluster/test_harness.py)."""
    assert not harness.any_rolling
    return harness.sync_until_stable(namespace, name, before=before)


def summarize(results: list[SyncResult]) -> str:
    """One line per pass, for the captured output of a failing test."""
    lines = []
    for number, r in enumerate(results, 1):
        done = [
            f"{what}={items}"
            for what, items in (
                ("created", r.created),
                ("updated", r.updated),
                ("deleted", r.deleted),
                ("waiting", r.waiting),
                ("revisions", r.revisions),
                ("no-op PUT", r.noop_updates),
                ("AlreadyExists", r.skipped),
            )
            if items
        ]
        flags = [
            flag
            for flag, on in (
                ("status", r.status_written),
                ("+finalizer", r.finalizer_added),
                ("-finalizer", r.finalizer_removed),
                ("cached", r.cached),
            )
            if on
        ]
        lines.append(f"  pass {number} {r.hook or '-'}: {' '.join(done + flags) or 'no change'}")
    return "\n" + "\n".join(lines)


def snapshot(view: View) -> dict[str, tuple[str, Any]]:
    """Identify every child by UID and spec, to prove a bad spec left them alone."""
    return {key: (obj["metadata"]["uid"], obj.get("spec")) for key, obj in view.children.items()}


def check_world(
    scenario: Scenario, step: Step, harness: Metacontroller, results: list[SyncResult]
) -> View:
    """The checks every step gets, then the step's own expectation."""
    name = step_parent_name(scenario)
    final = results[-1]
    assert not final.changed, f"{step.name}: the last pass still changed something"
    again = harness.sync(scenario.namespace, name).check()
    assert not again.changed, f"{step.name}: an extra pass changed {again}"
    if harness.hooks[again.hook].etag and final.etag:
        assert again.cached, f"{step.name}: the same request was not answered 304 from cache"
    bad_calls = [call for call in harness.calls if call[1] not in (200, 304)]
    assert bad_calls == [], f"hook calls that failed: {bad_calls}"
    dropped = [w for r in [*results, again] for w in r.warnings]
    assert dropped == [], f"the API server dropped fields of children: {dropped}"

    view = view_of(harness, scenario.namespace, name)
    status = view.status
    generation = view.parent["metadata"]["generation"]
    assert status.get("observedGeneration") == generation
    CONTROLLERS[scenario.controller].kind.status.model_validate(status)
    ready = view.condition("Ready")
    assert ready["status"] == ("True" if step.ready else "False"), ready
    assert ready.get("observedGeneration", generation) == generation, ready
    uid = view.parent["metadata"]["uid"]
    for key, child in view.children.items():
        meta = child["metadata"]
        assert meta["labels"][CONTROLLER_UID] == uid, key
        owners = [ref for ref in meta.get("ownerReferences") or [] if ref.get("controller")]
        assert [(o["uid"], o["kind"]) for o in owners] == [(uid, view.parent["kind"])], key
    if step.invalid:
        assert ready["reason"] == step.invalid, ready
    step.expect(view)
    return view


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply a JSON merge patch (RFC 7386) to a copy of target."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def step_parent_name(scenario: Scenario) -> str:
    return str(example_parent(scenario)["metadata"]["name"])


def example_parent(scenario: Scenario) -> KubeObject:
    kind = CONTROLLERS[scenario.controller].kind.kind
    (first, *_) = [d for d in documents(EXAMPLES / scenario.example) if d.get("kind") == kind]
    return first


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.controller)
def test_controller_through_its_lifecycle(scenario: Scenario, kube: Kube, harness_for: Any) -> None:
    harness: Metacontroller = harness_for(scenario.controller)
    namespace = scenario.namespace
    kube.ensure_namespace(namespace)
    parent = merge_patch(example_parent(scenario), scenario.parent_patch or {})
    parent["metadata"]["namespace"] = namespace
    name = parent["metadata"]["name"]
    resource = harness.parent_resource
    if kube.get_or_none(resource, namespace, name) is not None:
        pytest.fail(f"{namespace}/{name} exists already: a previous run did not clean up")
    before = settler(namespace) if scenario.settle else None

    for index, step in enumerate(scenario.steps):
        previous = view_of(harness, namespace, name) if index else None
        if step.act is not None:
            step.act(kube, namespace)
        if index == 0:
            kube.create(parent)
        elif step.patch is None:
            pass
        elif step.relax_crd:
            kind = CONTROLLERS[scenario.controller].kind.kind
            with relaxed_spec_schema(kube, kind):
                patch_until_accepted(kube, resource, namespace, name, step.patch)
            wait_refused(kube, resource, namespace, name)
        else:
            kube.patch(resource, namespace, name, step.patch)
        results = sync_settled(harness, namespace, name, before)
        print(f"{scenario.controller} {step.name}: {summarize(results)}")
        view = check_world(scenario, step, harness, results)
        if step.invalid:
            assert previous is not None
            kept = snapshot(view) == snapshot(previous)
            assert kept, f"{step.name}: children were touched"
            assert not any(r.deleted or r.created for r in results), results

    # delete: finalize, children deleted, finalizer removed, parent gone
    uid = kube.get(resource, namespace, name)["metadata"]["uid"]
    kube.delete(resource, namespace, name)
    results = harness.sync_until_stable(namespace, name, before=before)
    print(f"{scenario.controller} delete: {summarize(results)}")
    assert "finalize" in [r.hook for r in results], [r.hook for r in results]
    assert any(r.finalizer_removed for r in results)
    assert kube.get_or_none(resource, namespace, name) is None, "the parent is still there"
    for rule in harness.rules:
        left = kube.list(rule.resource, namespace, selector=f"{CONTROLLER_UID}={uid}")
        assert left == [], f"children left behind: {[o['metadata']['name'] for o in left]}"


NAMESPACE_DELETION_PASSES = 6
"""Passes of the namespace controller (each followed by one harness sync) a namespace gets
to disappear in; an InPlace kind needs two or three."""


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.controller)
def test_namespace_deletion_takes_the_parent_and_its_children(
    scenario: Scenario, kube: Kube, harness_for: Any
) -> None:
    """Create a parent with its children in a namespace of its own, delete the namespace,
    and let the namespace controller (tests/cluster/world.py, a stand-in for
    kube-controller-manager's) and the harness take turns: the namespace must be gone
    within NAMESPACE_DELETION_PASSES. The real Metacontroller hung here with PodCluster's
    RollingRecreate (issue 14 item 2)."""
    harness: Metacontroller = harness_for(scenario.controller)
    namespace = f"nsdel-{scenario.controller}"
    kube.ensure_namespace(namespace)
    parent = merge_patch(example_parent(scenario), scenario.parent_patch or {})
    parent["metadata"]["namespace"] = namespace
    name = parent["metadata"]["name"]
    before = settler(namespace) if scenario.settle else None
    first = scenario.steps[0]
    if first.act is not None:
        first.act(kube, namespace)
    kube.create(parent)
    sync_settled(harness, namespace, name, before)
    assert view_of(harness, namespace, name).children, "the parent made no children"

    kube.delete(kube.resource("v1", kind="Namespace"), None, namespace)
    started = time.monotonic()
    gone, passes, errors = False, 0, []
    while not gone and passes < NAMESPACE_DELETION_PASSES:
        passes += 1
        gone = namespace_controller_pass(kube, namespace)
        if not gone:
            result = harness.sync(namespace, name)
            errors = result.errors or errors
    print(
        f"{scenario.controller}: namespace gone={gone} after {passes} passes, "
        f"{time.monotonic() - started:.2f} s; last errors: {errors}"
    )
    assert gone, f"{namespace} still Terminating after {passes} passes: {errors}"
