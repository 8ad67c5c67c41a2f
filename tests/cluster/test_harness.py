"""The TEST HARNESS itself (tests/cluster/harness.py) against the real API server: each
Metacontroller behaviour it copies, driven by a scripted hook (tests/cluster/stub_hooks.py)
so that answers our controllers never give (a rolling strategy, a dropped field) can be
tried. Each test names the Metacontroller v4.17.2 source it checks the harness against.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cluster.artefacts import CrdInstall, install_crd, served_kind
from tests.cluster.dynamic_apply import LAST_APPLIED
from tests.cluster.harness import CONTROLLER_UID, ControllerNotStarted, Metacontroller
from tests.cluster.kube import ApiError, Kube, KubeObject
from tests.cluster.revisions import REVISION_API_VERSION
from tests.cluster.stub_hooks import StubHooks, stub_hooks
from tests.cluster.world import namespace_controller_pass

pytestmark = pytest.mark.cluster

GROUP = "harness.kubehooks.dev"


def parent_crd(kind: str, plural: str, condition_schema: KubeObject | None) -> KubeObject:
    """A namespaced parent CRD with the status subresource; a strict one requires
    `lastTransitionTime` on every status condition, as the project's CRDs do."""
    status: KubeObject = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if condition_schema is not None:
        status["properties"] = {"conditions": {"type": "array", "items": condition_schema}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                },
                                "status": status,
                            },
                        }
                    },
                }
            ],
        },
    }


STRICT_CONDITION = {
    "type": "object",
    "required": ["type", "status", "lastTransitionTime"],
    "x-kubernetes-preserve-unknown-fields": True,
    "properties": {
        "type": {"type": "string"},
        "status": {"type": "string"},
        "lastTransitionTime": {"type": "string", "format": "date-time"},
    },
}


@pytest.fixture(scope="module")
def parent_crds(kube: Kube, composite_controller_crd: CrdInstall) -> None:
    for crd in (
        parent_crd("HarnessParent", "harnessparents", None),
        parent_crd("StrictParent", "strictparents", STRICT_CONDITION),
    ):
        outcome = install_crd(kube, crd)
        assert outcome.established, outcome.error or outcome.conditions
        served_kind(kube, crd)


def composite(
    name: str, plural: str, method: str, *, endpoint: KubeObject | None = None
) -> KubeObject:
    """A CompositeController with ConfigMap children, generateSelector, sync and finalize."""
    spec: KubeObject = {
        "generateSelector": True,
        "parentResource": {"apiVersion": f"{GROUP}/v1", "resource": plural},
        "childResources": [
            {"apiVersion": "v1", "resource": "configmaps", "updateStrategy": {"method": method}}
        ],
        "hooks": {
            hook: {"version": "v2", "webhook": {"url": f"http://hooks.example/{hook}"}}
            for hook in ("sync", "finalize")
        },
    }
    if endpoint is not None:
        spec["endpointConfigs"] = [endpoint]
    return {
        "apiVersion": "metacontroller.k8s.io/v1alpha1",
        "kind": "CompositeController",
        "metadata": {"name": name},
        "spec": spec,
    }


def config_map(name: str, data: dict[str, str]) -> KubeObject:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


class Script:
    """What the stub hook answers: the sync answer of the moment, or a function of the
    request's parent (a rolling update calls the hook with older parents too)."""

    def __init__(self) -> None:
        self.sync: Any = {"status": {}, "children": []}

    def __call__(self, path: str, request: KubeObject) -> KubeObject:
        if path.endswith("/finalize"):
            return {"status": {}, "children": [], "finalized": True}
        answer = self.sync(request["parent"]) if callable(self.sync) else self.sync
        return dict(answer)


@pytest.fixture
def script() -> Iterator[tuple[Script, StubHooks]]:
    answers = Script()
    with stub_hooks(answers) as stub:
        yield answers, stub


def make_parent(kube: Kube, kind: str, namespace: str, spec: KubeObject) -> KubeObject:
    kube.ensure_namespace(namespace)
    body = {
        "apiVersion": f"{GROUP}/v1",
        "kind": kind,
        "metadata": {"name": "p", "namespace": namespace},
        "spec": spec,
    }
    return kube.create(body)


def config_maps(kube: Kube, namespace: str) -> dict[str, KubeObject]:
    resource = kube.resource("v1", kind="ConfigMap")
    found = kube.list(resource, namespace, selector=CONTROLLER_UID)
    return {obj["metadata"]["name"]: obj for obj in found}


# -- dynamic apply ---------------------------------------------------------------------------


def test_children_are_created_with_last_applied_and_updated_by_a_three_way_merge(
    kube: Kube, parent_crds: None, script: tuple[Script, StubHooks]
) -> None:
    """manage_children.go `DynamicApply.Apply` / `ApplyUpdate`, apply.go `Merge`: no
    server-side apply; the annotation holds the answer; a field dropped from the answer is
    removed, a field someone else set is kept; the update is a plain PUT."""
    answers, stub = script
    namespace = "harness-apply"
    harness = Metacontroller(kube, composite("apply", "harnessparents", "InPlace"), stub.url)
    answers.sync = {"status": {}, "children": [config_map("one", {"a": "1", "b": "2"})]}
    parent = make_parent(kube, "HarnessParent", namespace, {})
    harness.sync_until_stable(namespace, "p")

    child = config_maps(kube, namespace)["one"]
    applied = json.loads(child["metadata"]["annotations"][LAST_APPLIED])
    assert applied == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "one",
            "namespace": namespace,
            "labels": {CONTROLLER_UID: parent["metadata"]["uid"]},
        },
        "data": {"a": "1", "b": "2"},
    }
    assert [m["operation"] for m in child["metadata"]["managedFields"]] == ["Update"]

    resource = kube.resource("v1", kind="ConfigMap")
    kube.patch(resource, namespace, "one", {"data": {"someone-else": "x"}})
    answers.sync = {"status": {}, "children": [config_map("one", {"a": "9"})]}
    results = harness.sync_until_stable(namespace, "p")
    assert ["ConfigMap harness-apply/one"] in [r.updated for r in results]
    child = config_maps(kube, namespace)["one"]
    assert child["data"] == {"a": "9", "someone-else": "x"}
    assert json.loads(child["metadata"]["annotations"][LAST_APPLIED])["data"] == {"a": "9"}
    assert all(m["operation"] == "Update" for m in child["metadata"]["managedFields"])


def test_the_status_is_replaced_whole_with_observed_generation(
    kube: Kube, parent_crds: None, script: tuple[Script, StubHooks]
) -> None:
    """controller.go `updateParentStatus`: the answer's status replaces the old one, and
    `observedGeneration` is injected; a null status leaves only observedGeneration."""
    answers, stub = script
    namespace = "harness-status"
    harness = Metacontroller(kube, composite("status", "harnessparents", "InPlace"), stub.url)
    make_parent(kube, "HarnessParent", namespace, {"x": 1})
    resource = harness.parent_resource
    answers.sync = {"status": {"first": 1, "nested": {"a": 1}}, "children": []}
    harness.sync_until_stable(namespace, "p")
    assert kube.get(resource, namespace, "p")["status"] == {
        "first": 1,
        "nested": {"a": 1},
        "observedGeneration": 1,
    }
    answers.sync = {"status": {"second": 2}, "children": []}
    harness.sync_until_stable(namespace, "p")
    assert kube.get(resource, namespace, "p")["status"] == {"second": 2, "observedGeneration": 1}
    answers.sync = {"status": None, "children": []}
    harness.sync_until_stable(namespace, "p")
    assert kube.get(resource, namespace, "p")["status"] == {"observedGeneration": 1}


# -- endpointConfigs --------------------------------------------------------------------------


def test_a_missing_endpoint_secret_starts_no_controller_even_over_http(
    kube: Kube, parent_crds: None, script: tuple[Script, StubHooks]
) -> None:
    """endpoint_config.go `ResolveEndpointConfig`, auth.go `ResolveAuthorization`,
    controller.go `newParentController`: the Secret is read before the controller starts,
    for an http:// URL too (matching is by host only)."""
    answers, stub = script
    namespace = "harness-endpoint"
    kube.ensure_namespace(namespace)
    endpoint = {
        "host": "hooks.example",
        "authorization": {
            "type": "Bearer",
            "secretRef": {"name": "hook-token", "namespace": namespace, "key": "token"},
        },
    }
    controller = composite("endpoint", "harnessparents", "InPlace", endpoint=endpoint)
    with pytest.raises(ControllerNotStarted, match="can't get authorization secret"):
        Metacontroller(kube, controller, stub.url)
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "hook-token", "namespace": namespace},
            "stringData": {"token": "s3cret\n"},
        }
    )
    harness = Metacontroller(kube, controller, stub.url)
    make_parent(kube, "HarnessParent", namespace, {})
    harness.sync_until_stable(namespace, "p")
    assert {headers.get("Authorization") for _, headers, _ in stub.calls} == {"Bearer s3cret"}


# -- rolling strategies: ControllerRevisions and the Updated condition -----------------------


def revisions_of(kube: Kube, namespace: str) -> list[KubeObject]:
    return kube.list(kube.resource(REVISION_API_VERSION, kind="ControllerRevision"), namespace)


def test_a_rolling_strategy_keeps_a_controller_revision_and_adds_an_updated_condition(
    kube: Kube, parent_crds: None, script: tuple[Script, StubHooks]
) -> None:
    """controller_revision.go `syncRevisions`/`newControllerRevision`, rolling_update.go
    `syncRollingUpdate`, status.go `StatusCondition.Object`: one ControllerRevision per
    parent spec, and an `Updated` condition with type, status, reason, message only."""
    answers, stub = script
    namespace = "harness-rolling"
    harness = Metacontroller(
        kube, composite("rolling", "harnessparents", "RollingInPlace"), stub.url
    )
    answers.sync = {"status": {"conditions": []}, "children": [config_map("one", {"a": "1"})]}
    parent = make_parent(kube, "HarnessParent", namespace, {"v": 1})
    results = harness.sync_until_stable(namespace, "p")

    (revision,) = revisions_of(kube, namespace)
    assert revision["metadata"]["name"].startswith(f"harnessparents.{GROUP}-")
    assert revision["parentPatch"] == {"spec": {"v": 1}}
    assert revision["children"] == [{"apiGroup": "", "kind": "ConfigMap", "names": ["one"]}]
    assert revision["metadata"]["ownerReferences"][0]["uid"] == parent["metadata"]["uid"]
    assert any(r.revisions == [f"created {revision['metadata']['name']}"] for r in results)
    status = kube.get(harness.parent_resource, namespace, "p")["status"]
    assert status["conditions"] == [
        {
            "type": "Updated",
            "status": "True",
            "reason": "OnLatestRevision",
            "message": f"latest ControllerRevision: {revision['metadata']['name']}",
        }
    ]


def test_the_updated_condition_is_refused_where_conditions_need_a_transition_time(
    kube: Kube, parent_crds: None, script: tuple[Script, StubHooks]
) -> None:
    """issue 14 item 1, as the real Metacontroller showed it: a CRD that requires
    `lastTransitionTime` refuses every status write that carries the `Updated` condition,
    while the same answer without a rolling strategy is stored."""
    answers, stub = script
    ready = {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
    answers.sync = {"status": {"conditions": [ready]}, "children": [config_map("one", {})]}
    for method, namespace in (
        ("InPlace", "harness-strict-inplace"),
        ("RollingInPlace", "harness-strict-rolling"),
    ):
        harness = Metacontroller(
            kube, composite(f"strict-{method.lower()}", "strictparents", method), stub.url
        )
        make_parent(kube, "StrictParent", namespace, {})
        result = harness.sync(namespace, "p")
        if method == "InPlace":
            result.check()
            assert harness.kube.get(harness.parent_resource, namespace, "p")["status"][
                "conditions"
            ] == [ready]
        else:
            assert any("lastTransitionTime: Required value" in e for e in result.errors), result


def test_a_rollout_of_namespaced_children_stalls_after_the_first_child(
    kube: Kube, parent_crds: None, script: tuple[Script, StubHooks]
) -> None:
    """issue 14 item 2, copied from rolling_update.go `shouldContinueRolling`: claims use
    bare names, observed children `namespace/name`, so the child moved first is "missing"
    for good and no other child is ever updated."""
    answers, stub = script
    namespace = "harness-rollout"
    harness = Metacontroller(
        kube, composite("rollout", "harnessparents", "RollingInPlace"), stub.url
    )

    def answer(parent: KubeObject) -> KubeObject:
        version = str(parent["spec"]["v"])
        children = [config_map(name, {"v": version}) for name in ("one", "two")]
        return {"status": {}, "children": children}

    answers.sync = answer
    make_parent(kube, "HarnessParent", namespace, {"v": 1})
    harness.sync_until_stable(namespace, "p")
    kube.patch(harness.parent_resource, namespace, "p", {"spec": {"v": 2}})
    results = harness.sync_until_stable(namespace, "p")
    assert results[0].rollout == {
        "type": "Updated",
        "status": "False",
        "reason": "RolloutProgressing",
        "message": "updating ConfigMap one",
    }
    assert results[-1].waiting == ["missing child ConfigMap one"]
    data = {name: obj["data"]["v"] for name, obj in config_maps(kube, namespace).items()}
    assert data == {"one": "2", "two": "1"}
    assert len(revisions_of(kube, namespace)) == 2


# -- finalizers in a terminating namespace ---------------------------------------------------


@pytest.mark.parametrize("method", ["InPlace", "RollingInPlace"])
def test_namespace_deletion_with_a_finalizing_parent(
    method: str, kube: Kube, parent_crds: None, script: tuple[Script, StubHooks]
) -> None:
    """finalizer.go `ShouldFinalize`, controller_revision.go `syncRevisions` and
    `manageRevisions`: a rolling strategy goes through ControllerRevisions while
    finalizing; the namespace controller has deleted the revision, re-creating it is
    forbidden in a terminating namespace, so the finalizer stays and the namespace hangs
    (issue 14 item 2). Without a rolling strategy the namespace goes."""
    answers, stub = script
    namespace = f"harness-terminating-{method.lower()}"
    controller = composite(f"terminating-{method.lower()}", "harnessparents", method)
    harness = Metacontroller(kube, controller, stub.url)
    answers.sync = {"status": {}, "children": [config_map("one", {"a": "1"})]}
    make_parent(kube, "HarnessParent", namespace, {})
    harness.sync_until_stable(namespace, "p")
    namespaces = kube.resource("v1", kind="Namespace")
    kube.delete(namespaces, None, namespace)

    gone, errors = False, []
    for _ in range(5):
        gone = namespace_controller_pass(kube, namespace)
        if gone:
            break
        errors = harness.sync(namespace, "p").errors
    if method == "InPlace":
        assert gone, errors
        return
    assert not gone
    assert any("is being terminated" in e and "ControllerRevision" in e for e in errors), errors
    live = kube.get(harness.parent_resource, namespace, "p")
    assert harness.finalizer in live["metadata"]["finalizers"]
    # what the report had to do by hand: remove the finalizer; then the namespace goes
    kube.patch(harness.parent_resource, namespace, "p", {"metadata": {"finalizers": None}})
    assert namespace_controller_pass(kube, namespace)


def test_forbidden_is_what_the_api_server_answers_in_a_terminating_namespace(
    kube: Kube, parent_crds: None
) -> None:
    """The premise of the test above, checked on the API server itself."""
    namespace = "harness-terminating-probe"
    kube.ensure_namespace(namespace)
    kube.delete(kube.resource("v1", kind="Namespace"), None, namespace)
    probe = config_map("new", {})
    probe["metadata"]["namespace"] = namespace
    with pytest.raises(ApiError) as refused:
        kube.create(probe)
    assert refused.value.status == 403
    assert "because it is being terminated" in refused.value.message


def test_an_answer_echoing_the_observed_child_verbatim_rewrites_it_on_every_pass(
    kube: Kube, parent_crds: None, script: tuple[Script, StubHooks]
) -> None:
    """A hazard of Metacontroller's dynamic apply (manage_children.go `ApplyUpdate`): the
    whole answer goes into the last-applied annotation, so an answer that echoes the
    observed child with its resourceVersion changes the annotation after every write, and
    every pass PUTs again. Echoed children must drop the server-set fields first."""
    answers, stub = script  # the echo needs the whole request, so it replaces the script
    namespace = "harness-echo"
    harness = Metacontroller(kube, composite("echo", "harnessparents", "InPlace"), stub.url)

    def echo(request: KubeObject) -> KubeObject:
        observed = list(request["children"]["ConfigMap.v1"].values())
        return {"status": {}, "children": observed or [config_map("one", {"a": "1"})]}

    make_parent(kube, "HarnessParent", namespace, {})
    stub.answer = lambda path, request: (
        answers(path, request) if "finalize" in path else echo(request)
    )
    harness.sync(namespace, "p").check()  # creates the child
    versions = []
    for _ in range(3):
        result = harness.sync(namespace, "p").check()
        assert result.updated == [f"ConfigMap {namespace}/one"], result
        versions.append(config_maps(kube, namespace)["one"]["metadata"]["resourceVersion"])
    assert len(set(versions)) == 3


def test_children_missing_from_the_answer_are_deleted_once_and_still_sent_while_terminating(
    kube: Kube, parent_crds: None, script: tuple[Script, StubHooks]
) -> None:
    """manage_children.go `deleteChildren`: an observed child that is not desired is deleted
    (background, UID precondition), one already terminating is skipped; controller.go
    `claimChildren` still sends it to the hook until it is gone."""
    answers, stub = script
    namespace = "harness-delete"
    harness = Metacontroller(kube, composite("delete", "harnessparents", "InPlace"), stub.url)
    held = config_map("held", {})
    held["metadata"]["finalizers"] = ["example.com/hold"]
    answers.sync = {"status": {}, "children": [held, config_map("plain", {})]}
    make_parent(kube, "HarnessParent", namespace, {})
    harness.sync_until_stable(namespace, "p")
    answers.sync = {"status": {}, "children": []}
    first = harness.sync(namespace, "p").check()
    assert sorted(first.deleted) == [f"ConfigMap {namespace}/held", f"ConfigMap {namespace}/plain"]
    second = harness.sync(namespace, "p").check()
    assert second.deleted == []
    assert second.request is not None
    assert list(second.request["children"]["ConfigMap.v1"]) == [f"{namespace}/held"]
    resource = kube.resource("v1", kind="ConfigMap")
    kube.patch(resource, namespace, "held", {"metadata": {"finalizers": None}})
