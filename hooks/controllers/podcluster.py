"""PodCluster: podReplicas bare Pods named `<name>-<ordinal>` (kube-operator).

Ordinals are dense from 0, so scaling down drops the highest ones and a deleted Pod comes back
under the same name on the next sync.
"""

from __future__ import annotations

from hooks.api.podcluster import PodClusterSpec, PodTemplate
from hooks.builders import conditions as c
from hooks.builders.meta import (
    POD,
    is_terminating,
    selector_labels,
    selector_string,
    standard_labels,
)
from hooks.builders.observe import pod_is_ready
from hooks.builders.workloads import container, pod, pod_spec
from hooks.contract import KubeObject, SyncResponse
from hooks.controller import HookRequest, NoOptions

BUILTIN_IMAGE = "nginx"
NAME = "podcluster"


def sync(request: HookRequest[PodClusterSpec, NoOptions]) -> SyncResponse:
    """Return podReplicas Pods and the counts of the observed ones."""
    status = podcluster_status(request)
    labels = standard_labels(NAME, request.parent.name, component="member")
    meta = request.meta(request.parent.name, labels)
    spec = pod_spec([podcluster_container(request)])
    pods = [
        podcluster_pod(request, meta, spec, ordinal) for ordinal in range(request.spec.pod_replicas)
    ]
    return SyncResponse(status=status, children=pods)


def podcluster_container(request: HookRequest[PodClusterSpec, NoOptions]) -> KubeObject:
    """Build the container every Pod runs.

    Built once per sync, and shared by all the Pods (up to 1000) with their labels and the rest
    of their spec: nothing changes a child once it is built (the runtime vets a shared container
    once, and only replaces labels that lack the controller-uid, which `request.meta` adds).
    """
    spec = request.spec
    template = spec.template or PodTemplate()
    return container(
        "main",
        request.image(template.image or spec.image, BUILTIN_IMAGE),
        command=template.command,
        args=template.args,
        env=[item.to_wire() for item in template.env or []],
        ports=[item.to_wire() for item in template.ports or []],
        resources=template.resources.to_wire() if template.resources else None,
    )


def podcluster_pod(
    request: HookRequest[PodClusterSpec, NoOptions],
    meta: KubeObject,
    spec: KubeObject,
    ordinal: int,
) -> KubeObject:
    """Build Pod number `ordinal` from the shared metadata and spec, named and hostnamed."""
    name = f"{request.parent.name}-{ordinal}"
    return pod({**meta, "name": name}, {**spec, "hostname": name})


def podcluster_status(request: HookRequest[PodClusterSpec, NoOptions]) -> KubeObject:
    """Count the observed Pods that are not being deleted, and the Ready ones among them."""
    live = ready = 0
    for observed in request.children.unordered(POD):
        if not is_terminating(observed):
            live += 1
            ready += pod_is_ready(observed)
    wanted = request.spec.pod_replicas
    conditions = request.conditions()
    message = f"{ready}/{wanted} Pods ready, {live} exist"
    if ready == wanted and live == wanted:
        conditions.set(c.READY, True, "AllPodsReady", message)
    else:
        conditions.set(c.READY, False, "Scaling" if live != wanted else "PodsNotReady", message)
    selector = selector_string(selector_labels(NAME, request.parent.name))
    return {
        "replicas": live,
        "readyReplicas": ready,
        "selector": selector,
        "conditions": conditions.to_list(),
    }
