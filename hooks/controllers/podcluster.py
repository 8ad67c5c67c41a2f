"""PodCluster: podReplicas bare Pods named `<name>-<ordinal>` (kube-operator).

Ordinals are dense from 0, so scaling down drops the highest ones and a deleted Pod comes back
under the same name on the next sync.

A template change rolls out here, in the hook, one ordinal at a time: Metacontroller's rolling
strategies stall on namespaced children and hang namespace deletion (issue 14), so the Pods are
an OnDelete child type and Metacontroller never updates one. Each Pod carries the hash of the
template it was built from; an outdated Pod is answered as it was applied (kept) until every
Pod exists and every up-to-date one is Ready, then the lowest outdated ordinal is left out of the
answer (Metacontroller deletes it) and comes back, built from the new template, once it is gone.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import xxhash

from hooks.api.podcluster import PODCLUSTER, PodClusterSpec, PodTemplate
from hooks.sdk import (
    POD,
    PODS,
    Conditions,
    Controller,
    HookRequest,
    KubeObject,
    NoOptions,
    SyncResponse,
    as_desired,
    container,
    pod,
    pod_is_ready,
    pod_spec,
    selector_labels,
    selector_string,
    standard_labels,
)
from hooks.sdk import conditions as c

BUILTIN_IMAGE = "nginx"
NAME = "podcluster"


def sync(request: HookRequest[PodClusterSpec, NoOptions]) -> SyncResponse:
    """Return podReplicas Pods, rolling a template change out one ordinal at a time."""
    labels = standard_labels(NAME, request.parent.name, component="member")
    spec = pod_spec([podcluster_container(request)])
    template_hash = pod_template_hash(labels, spec)
    meta = request.meta(request.parent.name, labels, {TEMPLATE_HASH: template_hash})
    plan = rollout_plan(request, template_hash)
    pods: list[KubeObject] = []
    for ordinal in range(request.spec.pod_replicas):
        if ordinal == plan.replacing:
            continue
        outdated = plan.outdated.get(ordinal)
        pods.append(
            as_desired(outdated)
            if outdated is not None
            else podcluster_pod(request, meta, spec, ordinal)
        )
    return SyncResponse(status=podcluster_status(request, plan), children=pods)


TEMPLATE_HASH = "kubehooks.dev/pod-template-hash"
"""Annotation naming the template a Pod was built from, as a StatefulSet's revision label does."""


def pod_template_hash(labels: dict[str, str], spec: KubeObject) -> str:
    """Return a short, stable hash of what every Pod shares (its labels and spec)."""
    body = orjson.dumps({"labels": labels, "spec": spec}, option=orjson.OPT_SORT_KEYS)
    return xxhash.xxh3_64_hexdigest(body)


@dataclass(frozen=True)
class RolloutPlan:
    """Where a rollout stands: the outdated Pods by ordinal and the one to replace now, if any,
    with the counts status reports (read in the same pass over the observed Pods)."""

    outdated: dict[int, KubeObject]
    updated: int
    replacing: int | None
    waiting: str | None
    """Why no outdated Pod is replaced in this sync, while some are."""
    live: int
    """Observed Pods not being deleted (any name)."""
    ready: int
    """Those of them whose Ready is True."""


def rollout_plan(
    request: HookRequest[PodClusterSpec, NoOptions], template_hash: str
) -> RolloutPlan:
    """Decide which outdated Pod, if any, to replace in this sync.

    A Pod is outdated when its template hash differs from the spec's (a Pod from before the
    hash, too). One is replaced only when every wanted ordinal exists, none is being deleted,
    and every up-to-date Pod is Ready: the rollout goes on when the replaced Pod is observed
    Ready, and an outdated Pod that is not Ready never holds it up (it is the one to replace).
    One pass over the observed Pods, which may be a thousand.
    """
    wanted = request.spec.pod_replicas
    prefix = f"{request.parent.name}-"
    outdated: dict[int, KubeObject] = {}
    blocking: dict[int, str] = {}
    present: set[int] = set()
    live = ready = updated = 0
    for observed in request.children.unordered(POD):
        meta = observed.get("metadata") or {}
        terminating = bool(meta.get("deletionTimestamp"))
        is_ready = not terminating and pod_is_ready(observed)
        live += not terminating
        ready += is_ready
        ordinal = _ordinal(meta.get("name"), prefix, wanted)
        if ordinal is None:
            continue
        present.add(ordinal)
        if terminating:
            blocking[ordinal] = "is being deleted"
        elif (meta.get("annotations") or {}).get(TEMPLATE_HASH) != template_hash:
            outdated[ordinal] = observed
        else:
            updated += 1
            if not is_ready:
                blocking[ordinal] = "is not Ready yet"
    if outdated and len(present) < wanted:
        blocking.update((o, "is being created") for o in range(wanted) if o not in present)
    waiting = None
    if outdated and blocking:
        first = min(blocking)
        waiting = f"Pod {prefix}{first} {blocking[first]}"
    replacing = min(outdated) if outdated and waiting is None else None
    return RolloutPlan(outdated, updated, replacing, waiting, live, ready)


def _ordinal(name: object, prefix: str, wanted: int) -> int | None:
    """Return the ordinal of a Pod named `<prefix><n>` with n < wanted, else None."""
    if not isinstance(name, str) or not name.startswith(prefix):
        return None
    digits = name[len(prefix) :]
    if not digits.isdigit() or (digits != "0" and digits.startswith("0")):
        return None
    ordinal = int(digits)
    return ordinal if ordinal < wanted else None


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


def podcluster_status(
    request: HookRequest[PodClusterSpec, NoOptions], plan: RolloutPlan
) -> KubeObject:
    """Report the observed Pods that are not being deleted, the Ready ones, the rollout."""
    live, ready = plan.live, plan.ready
    wanted = request.spec.pod_replicas
    conditions = request.conditions()
    message = f"{ready}/{wanted} Pods ready, {live} exist"
    if ready == wanted and live == wanted:
        conditions.set(c.READY, True, "AllPodsReady", message)
    else:
        conditions.set(c.READY, False, "Scaling" if live != wanted else "PodsNotReady", message)
    _set_progress(conditions, plan, wanted)
    selector = selector_string(selector_labels(NAME, request.parent.name))
    return {
        "replicas": live,
        "readyReplicas": ready,
        "updatedReplicas": plan.updated,
        "selector": selector,
        "conditions": conditions.to_list(),
    }


def _set_progress(conditions: Conditions, plan: RolloutPlan, wanted: int) -> None:
    """Say how far a template rollout has gone (Progressing), as a Deployment does."""
    if not plan.outdated:
        conditions.set(
            c.PROGRESSING, True, "RolloutComplete", f"{plan.updated}/{wanted} Pods updated"
        )
        return
    progress = f"{plan.updated}/{wanted} Pods updated, {len(plan.outdated)} outdated"
    if plan.replacing is not None:
        message = f"{progress}; replacing Pod ordinal {plan.replacing}"
        conditions.set(c.PROGRESSING, True, "RollingUpdate", message)
    else:
        conditions.set(c.PROGRESSING, True, "RolloutWaiting", f"{progress}; {plan.waiting}")


CONTROLLER = Controller(
    name="podcluster",
    kind=PODCLUSTER,
    children=(PODS,),
    sync=sync,
    builtin_image=BUILTIN_IMAGE,
)
"""Registered as the `podcluster` entry point of the `kubehooks.controllers` group."""
