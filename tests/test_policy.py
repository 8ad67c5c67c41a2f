"""The security policy against hostile Pods and hostile specs, for every controller; loosening."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

import hooks.registry as registry
from hooks.builders.meta import EchoedChild
from hooks.builders.workloads import pod_specs_of
from hooks.contract import SyncRequest, SyncResponse
from hooks.errors import PolicyViolation
from hooks.policy import SecurityPolicy, check_child
from hooks.runtime import bind, run_sync
from hooks.settings import Settings, load_settings
from tests.goldens import GoldenCase, discover_cases, golden_responses

NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)
NS = "team-a"
EXAMPLES = Path(__file__).parent.parent / "examples"
DEFAULT = SecurityPolicy()

Obj = dict[str, Any]


def _pod_spec(**extra: Any) -> Obj:
    return {"containers": [{"name": "app", "image": "busybox:1.36"}], **extra}


def _container(**extra: Any) -> Obj:
    return {"name": "app", "image": "busybox:1.36", **extra}


def _wrap(kind: str, spec: Obj) -> Obj:
    """Put a PodSpec where each workload kind carries it."""
    meta = {"name": "x", "namespace": NS}
    template = {"metadata": {"labels": {"a": "b"}}, "spec": spec}
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    if kind == "CronJob":
        body = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": meta, "spec": body}
    group = "batch/v1" if kind == "Job" else "apps/v1"
    return {"apiVersion": group, "kind": kind, "metadata": meta, "spec": {"template": template}}


KINDS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"]

HOSTILE: dict[str, tuple[str, Obj]] = {
    "privileged": (
        "privileged",
        _pod_spec(containers=[_container(securityContext={"privileged": True})]),
    ),
    "privileged-init-container": (
        "privileged",
        _pod_spec(initContainers=[_container(name="init", securityContext={"privileged": True})]),
    ),
    "privileged-ephemeral-container": (
        "privileged",
        _pod_spec(
            ephemeralContainers=[_container(name="dbg", securityContext={"privileged": True})]
        ),
    ),
    "windows-host-process-pod": (
        "privileged",
        _pod_spec(securityContext={"windowsOptions": {"hostProcess": True}}),
    ),
    "windows-host-process-container": (
        "privileged",
        _pod_spec(
            containers=[_container(securityContext={"windowsOptions": {"hostProcess": True}})]
        ),
    ),
    "unmasked-proc": (
        "privileged",
        _pod_spec(containers=[_container(securityContext={"procMount": "Unmasked"})]),
    ),
    "hostPath": (
        "hostPath",
        _pod_spec(volumes=[{"name": "root", "hostPath": {"path": "/", "type": "Directory"}}]),
    ),
    "hostNetwork": ("hostNamespaces", _pod_spec(hostNetwork=True)),
    "hostPID": ("hostNamespaces", _pod_spec(hostPID=True)),
    "hostIPC": ("hostNamespaces", _pod_spec(hostIPC=True)),
    "hostPort": (
        "hostPorts",
        _pod_spec(containers=[_container(ports=[{"containerPort": 80, "hostPort": 80}])]),
    ),
    "hostPort-init-container": (
        "hostPorts",
        _pod_spec(
            initContainers=[_container(name="i", ports=[{"containerPort": 1, "hostPort": 1}])]
        ),
    ),
}

CAPABILITIES = [
    "SYS_ADMIN",
    "CAP_SYS_ADMIN",
    "cap_sys_admin",
    "sys_admin",
    "Cap_Sys_Admin",
    "NET_ADMIN",
    "NET_RAW",
    "SYS_PTRACE",
    "SYS_MODULE",
    "BPF",
    "ALL",
    "all",
]


def _violation(child: Obj, policy: SecurityPolicy = DEFAULT) -> str | None:
    try:
        check_child(child, NS, policy)
    except PolicyViolation as err:
        return err.rule
    return None


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_pod_specs_are_refused_in_every_workload_kind(kind: str, case: str) -> None:
    rule, spec = HOSTILE[case]
    assert _violation(_wrap(kind, copy.deepcopy(spec))) == rule


@pytest.mark.parametrize("kind", KINDS)
def test_a_plain_pod_spec_passes(kind: str) -> None:
    baseline = _container(
        securityContext={
            "capabilities": {"add": ["NET_BIND_SERVICE", "chown", "cap_kill"], "drop": ["ALL"]},
            "procMount": "Default",
            "privileged": False,
        },
        ports=[{"containerPort": 8080}],
    )
    spec = _pod_spec(containers=[baseline], volumes=[{"name": "tmp", "emptyDir": {}}])
    assert _violation(_wrap(kind, spec)) is None


@pytest.mark.parametrize("capability", CAPABILITIES)
@pytest.mark.parametrize("where", ["containers", "initContainers"])
def test_capabilities_outside_the_baseline_are_refused_in_any_spelling(
    capability: str, where: str
) -> None:
    container = _container(securityContext={"capabilities": {"add": ["CHOWN", capability]}})
    spec = _pod_spec(**{where: [container]})
    assert _violation(_wrap("Deployment", spec)) == "capabilities"


def test_children_outside_the_parents_namespace_are_refused() -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    for namespace in ("kube-system", "default", "team-b"):
        config_map["metadata"]["namespace"] = namespace
        assert _violation(config_map) == "namespace"
    config_map["metadata"]["namespace"] = NS
    assert _violation(config_map) is None
    del config_map["metadata"]["namespace"]
    assert _violation(config_map) is None  # Metacontroller puts it in the parent's namespace


LOOSENED: dict[str, tuple[Obj, list[str]]] = {
    "allowPrivileged": (
        {"allowPrivileged": True},
        [
            "privileged",
            "privileged-init-container",
            "privileged-ephemeral-container",
            "windows-host-process-pod",
            "windows-host-process-container",
            "unmasked-proc",
        ],
    ),
    "allowHostPath": ({"allowHostPath": True}, ["hostPath"]),
    "allowHostNamespaces": (
        {"allowHostNamespaces": True},
        ["hostNetwork", "hostPID", "hostIPC"],
    ),
    "allowHostPorts": ({"allowHostPorts": True}, ["hostPort", "hostPort-init-container"]),
}


@pytest.mark.parametrize("option", sorted(LOOSENED))
def test_loosening_one_rule_allows_exactly_that_rule(option: str) -> None:
    config, allowed = LOOSENED[option]
    policy = SecurityPolicy.model_validate(config)
    for case, (rule, spec) in HOSTILE.items():
        got = _violation(_wrap("Deployment", copy.deepcopy(spec)), policy)
        assert got == (None if case in allowed else rule), case


def test_loosening_capabilities_and_namespaces() -> None:
    policy = SecurityPolicy.model_validate(
        {"allowedCapabilities": ["cap_net_admin", "SYS_PTRACE"], "allowCrossNamespace": True}
    )
    for capability in ("NET_ADMIN", "cap_net_admin", "CAP_SYS_PTRACE"):
        container = _container(securityContext={"capabilities": {"add": [capability]}})
        assert _violation(_wrap("Pod", _pod_spec(containers=[container])), policy) is None
    container = _container(securityContext={"capabilities": {"add": ["CHOWN"]}})
    assert _violation(_wrap("Pod", _pod_spec(containers=[container])), policy) == "capabilities"
    other = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "b"}}
    assert _violation(other, policy) is None


def test_policy_is_read_from_the_config_file(tmp_path: Any) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("policy:\n  allowPrivileged: true\n  allowedCapabilities: [NET_ADMIN]\n")
    policy = load_settings(config).policy
    assert policy.allow_privileged and policy.allowed_capabilities == ("NET_ADMIN",)
    assert not policy.allow_host_path


# Every controller that builds Pods: the runtime vets its real answers ----------------------------

POD_KINDS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}


def _pod_building_cases() -> list[Any]:
    """One golden sync case per controller whose own answer (valid spec) has a Pod-bearing child."""
    chosen: dict[str, GoldenCase] = {}
    for case, body in golden_responses():
        if case.hook != "sync" or case.controller in chosen:
            continue
        ready = [c for c in body.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
        if ready and ready[0]["reason"] in {"InvalidSpec", "PolicyViolation"}:
            continue
        if any(child.get("kind") in POD_KINDS for child in body.get("children", [])) and any(
            type(child) is not EchoedChild and child.get("kind") in POD_KINDS
            for child in _answer(case, registry.CONTROLLERS[case.controller]).children
        ):
            chosen[case.controller] = case
    return [pytest.param(case, id=case.id) for case in chosen.values()]


def _answer(case: GoldenCase, controller: Any, policy: Obj | None = None) -> SyncResponse:
    settings = _settings(case, policy)
    bound = bind(controller, settings.controller(case.controller), settings.policy, settings.limits)
    return run_sync(bound, SyncRequest.model_validate(copy.deepcopy(case.request)), now=NOW)


INJECTIONS: dict[str, tuple[str, Callable[[Obj], None]]] = {
    "privileged": (
        "privileged",
        lambda spec: (
            spec["containers"][0].setdefault("securityContext", {}).update(privileged=True)
        ),
    ),
    "capability": (
        "capabilities",
        lambda spec: (
            spec["containers"][0]
            .setdefault("securityContext", {})
            .update(capabilities={"add": ["cap_sys_admin"]})
        ),
    ),
    "hostPath": (
        "hostPath",
        lambda spec: spec.setdefault("volumes", []).append(
            {"name": "h", "hostPath": {"path": "/"}}
        ),
    ),
    "hostNetwork": ("hostNamespaces", lambda spec: spec.update(hostNetwork=True)),
    "hostPort": (
        "hostPorts",
        lambda spec: (
            spec["containers"][0]
            .setdefault("ports", [])
            .append({"containerPort": 9, "hostPort": 9})
        ),
    ),
}


def _settings(case: GoldenCase, policy: Obj | None = None) -> Settings:
    data = copy.deepcopy(case.meta.get("config", {}))
    if policy:
        data["policy"] = policy
    return Settings.model_validate(data)


def _poisoned(case: GoldenCase, inject: Callable[[Obj], None], *, echoes: bool = False) -> Any:
    """Return the case's controller with the first Pod it builds (or echoes) made hostile."""
    real = registry.CONTROLLERS[case.controller]

    def sync(request: Any) -> SyncResponse:
        response = real.sync(request)
        for child in response.children:
            if (type(child) is EchoedChild) != echoes:
                continue
            for spec in pod_specs_of(child):
                inject(spec)
                return response
        return response

    return real.__class__(**{**real.__dict__, "sync": sync})


@pytest.mark.parametrize("case", _pod_building_cases())
@pytest.mark.parametrize("injection", sorted(INJECTIONS))
def test_a_hostile_child_from_any_controller_keeps_the_observed_children(
    case: GoldenCase, injection: str
) -> None:
    rule, inject = INJECTIONS[injection]
    controller = _poisoned(case, inject)
    settings = _settings(case)
    bound = bind(controller, settings.controller(case.controller), settings.policy, settings.limits)
    request = SyncRequest.model_validate(copy.deepcopy(case.request))
    answer = run_sync(bound, request, now=NOW).to_wire()
    ready = [c for c in answer["status"]["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "False" and ready[0]["reason"] == "PolicyViolation"
    assert repr(rule) in ready[0]["message"]
    observed = {
        (obj["kind"], obj["metadata"]["name"])
        for group in request.children.values()
        for obj in group.values()
    }
    assert {(c["kind"], c["metadata"]["name"]) for c in answer["children"]} == observed
    for child in answer["children"]:
        check_child(child, request.parent["metadata"]["namespace"], DEFAULT)


@pytest.mark.parametrize("case", _pod_building_cases())
def test_a_loosened_policy_lets_the_same_child_through(case: GoldenCase) -> None:
    _, inject = INJECTIONS["privileged"]
    controller = _poisoned(case, inject)
    settings = _settings(case, {"allowPrivileged": True})
    bound = bind(controller, settings.controller(case.controller), settings.policy, settings.limits)
    answer = run_sync(bound, SyncRequest.model_validate(copy.deepcopy(case.request)), now=NOW)
    assert any(
        (c.get("securityContext") or {}).get("privileged")
        for child in answer.children
        for spec in pod_specs_of(child)
        for c in spec["containers"]
    )


# Hostile specs: whatever a user writes, no child leaves that breaks the default policy -----------

FRAGMENTS: dict[str, Obj] = {
    "securityContext": {"securityContext": {"privileged": True}},
    "capabilities": {"securityContext": {"capabilities": {"add": ["cap_sys_admin", "ALL"]}}},
    "hostNetwork": {"hostNetwork": True, "hostPID": True, "hostIPC": True},
    "hostPath": {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]},
    "hostPort": {"ports": [{"containerPort": 80, "hostPort": 80}]},
    "namespace": {"namespace": "kube-system"},
}


def _dict_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        yield path
        for key, value in node.items():
            yield from _dict_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _dict_paths(value, (*path, index))


def _seeds(controller: str) -> list[Obj]:
    """Requests to mutate: the controller's fresh and steady golden cases, and its examples."""
    seeds = [
        case.request
        for case in discover_cases()
        if case.controller == controller
        and case.hook == "sync"
        and case.folder.name in {"fresh-parent", "steady-state"}
    ]
    kind = registry.CONTROLLERS[controller].kind
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for obj in yaml.safe_load_all(path.read_text()):
            if isinstance(obj, dict) and obj.get("kind") == kind.kind:
                parent = copy.deepcopy(obj)
                parent["metadata"].update(namespace=NS, uid="0000-example", generation=1)
                groups = {child.key: {} for child in registry.CONTROLLERS[controller].children}
                seeds.append({"parent": parent, "children": groups, "related": {}})
    return seeds


def _accepts_security_fields(controller: str) -> bool:
    schema = json.dumps(registry.CONTROLLERS[controller].kind.spec.model_json_schema(by_alias=True))
    return "securityContext" in schema


@pytest.mark.parametrize("controller", sorted(registry.CONTROLLERS))
def test_no_spec_can_produce_a_child_that_breaks_the_policy(controller: str) -> None:
    """Put hostile fragments into every object of every seed spec: the model refuses them, the
    controller ignores them, or the policy refuses the child; no hostile child ever leaves."""
    settings = Settings()
    bound = bind(
        registry.CONTROLLERS[controller],
        settings.controller(controller),
        settings.policy,
        settings.limits,
    )
    reasons: set[str] = set()
    for seed in _seeds(controller):
        namespace = seed["parent"]["metadata"]["namespace"]
        for path in list(_dict_paths(seed["parent"].get("spec") or {})):
            for fragment in FRAGMENTS.values():
                request = copy.deepcopy(seed)
                node = request["parent"]["spec"]
                for step in path:
                    node = node[step]
                node.update(copy.deepcopy(fragment))
                answer = run_sync(bound, SyncRequest.model_validate(request), now=NOW).to_wire()
                for child in answer["children"]:
                    check_child(child, namespace, DEFAULT)
                ready = [c for c in answer["status"].get("conditions", []) if c["type"] == "Ready"]
                if ready and ready[0]["status"] == "False":
                    reasons.add(ready[0]["reason"])
    if _accepts_security_fields(controller):
        assert "PolicyViolation" in reasons, "a securityContext in the spec was never refused"
