"""Builders of realistic hook requests for golden cases."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hooks.builders.meta import CONTROLLER_UID, LAST_APPLIED
from hooks.contract import SyncRequest
from hooks.manifests import composite_controller
from hooks.registry import CONTROLLERS
from hooks.runtime import bind
from hooks.settings import ControllerConfig, Settings

NOW = "2026-01-15T10:00:00Z"
CREATED = "2026-01-15T09:00:00Z"
EARLIER = "2026-01-15T09:30:00Z"
NAMESPACE = "default"

Obj = dict[str, Any]


@dataclass
class Case:
    """One golden case: a request, which hook receives it, and at what time."""

    controller: str
    name: str
    description: str
    request: Obj
    hook: str = "sync"
    now: str = NOW
    config: Obj = field(default_factory=dict)

    def meta(self) -> Obj:
        """Return what case.json records besides the request."""
        out: Obj = {"description": self.description, "hook": self.hook, "now": self.now}
        if self.config:
            out["config"] = self.config
        return out


def uid_for(*parts: str) -> str:
    """Return a stable UUID for an object, so generated files do not change between runs."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "kubehooks:" + "/".join(parts)))


def parent(
    controller: str,
    name: str,
    spec: Obj,
    *,
    generation: int = 1,
    status: Obj | None = None,
    deleting: bool = False,
    labels: dict[str, str] | None = None,
) -> Obj:
    """Return a parent object as Metacontroller's informer has it."""
    kind = CONTROLLERS[controller].kind
    meta: Obj = {
        "name": name,
        "namespace": NAMESPACE,
        "uid": uid_for(kind.kind, name),
        "generation": generation,
        "resourceVersion": str(1000 + generation),
        "creationTimestamp": CREATED,
        "finalizers": [f"metacontroller.io/compositecontroller-kubehooks-{controller}"],
    }
    if labels:
        meta["labels"] = labels
    if deleting:
        meta["deletionTimestamp"] = EARLIER
        meta["deletionGracePeriodSeconds"] = 0
    obj: Obj = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": meta, "spec": spec}
    if status is not None:
        obj["status"] = status
    return obj


def desired_children(
    controller: str, parent_obj: Obj, config: Obj | None = None, *, now: str = NOW
) -> list[Obj]:
    """Return what the controller wants for this parent, at `now`, when nothing is observed."""
    settings = Settings.model_validate({"controllers": {controller: config or {}}})
    bound = bind(
        CONTROLLERS[controller],
        settings.controller(controller),
        settings.policy,
        settings.limits,
    )
    from hooks.runtime import run_sync

    request = SyncRequest(parent=copy.deepcopy(parent_obj), children=_empty_groups(controller))
    moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
    return run_sync(bound, request, now=moment).children


def observe(
    desired: Obj,
    parent_obj: Obj,
    *,
    status: Obj | None = None,
    generation: int = 1,
    deleting: bool = False,
) -> Obj:
    """Return a desired child as the API server hands it back once Metacontroller applied it."""
    applied = json.loads(json.dumps(desired))  # as it crossed the wire: plain objects only
    obj = json.loads(json.dumps(desired))
    meta = obj["metadata"]
    pmeta = parent_obj["metadata"]
    meta.setdefault("namespace", pmeta["namespace"])
    meta["labels"] = {**meta.get("labels", {}), CONTROLLER_UID: pmeta["uid"]}
    meta["uid"] = uid_for(obj["kind"], meta["name"])
    meta["resourceVersion"] = str(5000 + generation)
    meta["generation"] = generation
    meta["creationTimestamp"] = CREATED
    meta["annotations"] = {
        **meta.get("annotations", {}),
        LAST_APPLIED: json.dumps(applied, sort_keys=True, separators=(",", ":")),
    }
    meta["ownerReferences"] = [
        {
            "apiVersion": parent_obj["apiVersion"],
            "kind": parent_obj["kind"],
            "name": pmeta["name"],
            "uid": pmeta["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    if deleting:
        meta["deletionTimestamp"] = EARLIER
    if status is not None:
        obj["status"] = status
    return obj


def _empty_groups(controller: str) -> dict[str, Obj]:
    return {child.key: {} for child in CONTROLLERS[controller].children}


def request(
    controller: str,
    parent_obj: Obj,
    observed: list[Obj] = (),  # type: ignore[assignment]
    *,
    related: list[Obj] = (),  # type: ignore[assignment]
    version: str = "v2",
    finalizing: bool = False,
) -> Obj:
    """Return a sync/finalize request body keyed the way hook `version` keys it."""
    children = _empty_groups(controller)
    for obj in observed:
        children[f"{obj['kind']}.{obj['apiVersion']}"][_key(obj, version)] = obj
    related_groups: dict[str, Obj] = {}
    for obj in related:
        related_groups.setdefault(f"{obj['kind']}.{obj['apiVersion']}", {})[_key(obj, version)] = (
            obj
        )
    cc = composite_controller(controller, ControllerConfig(), "http://kubehooks.kubehooks.svc:8080")
    if version == "v1":
        for hook in cc["spec"]["hooks"].values():
            hook["version"] = "v1"
    cc["metadata"]["uid"] = uid_for("CompositeController", controller)
    cc["status"] = {}
    return {
        "controller": cc,
        "parent": parent_obj,
        "children": children,
        "related": related_groups,
        "finalizing": finalizing,
    }


def _key(obj: Obj, version: str) -> str:
    meta = obj["metadata"]
    if version == "v1":
        return str(meta["name"])
    return f"{meta.get('namespace', NAMESPACE)}/{meta['name']}"


def condition(type_: str, status: str, reason: str, message: str = "", when: str = EARLIER) -> Obj:
    """Return a condition as a previous answer would have left it on the parent."""
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": when,
        "observedGeneration": 1,
    }


def deployment_status(
    replicas: int,
    available: int,
    *,
    generation: int = 1,
    progressing: str = "NewReplicaSetAvailable",
    updated: int | None = None,
) -> Obj:
    """Return a Deployment status as the deployment controller writes it.

    `updated` below `replicas` is a rollout under way (default: all Pods updated).
    """
    failed = progressing == "ProgressDeadlineExceeded"
    return {
        "observedGeneration": generation,
        "replicas": replicas,
        "updatedReplicas": replicas if updated is None else updated,
        "readyReplicas": available,
        "availableReplicas": available,
        **({"unavailableReplicas": replicas - available} if replicas > available else {}),
        "conditions": [
            {
                "type": "Available",
                "status": "True" if available >= replicas else "False",
                "reason": "MinimumReplicasAvailable"
                if available >= replicas
                else "MinimumReplicasUnavailable",
                "message": "Deployment has minimum availability."
                if available >= replicas
                else "Deployment does not have minimum availability.",
                "lastUpdateTime": EARLIER,
                "lastTransitionTime": EARLIER,
            },
            {
                "type": "Progressing",
                "status": "False" if failed else "True",
                "reason": progressing,
                "message": "ReplicaSet has timed out progressing."
                if failed
                else "ReplicaSet is progressing.",
                "lastUpdateTime": EARLIER,
                "lastTransitionTime": EARLIER,
            },
        ],
    }


JOB_FINISHED = "2026-01-15T09:50:00Z"
"""When the Jobs of the golden cases finish: after EARLIER, before NOW."""


def job_status(
    *,
    active: int = 0,
    ready: int = 0,
    succeeded: int = 0,
    failed: int = 0,
    outcome: str | None = None,
    reason: str = "",
    message: str = "",
    suspended: bool = False,
    started: str | None = EARLIER,
    finished: str = JOB_FINISHED,
) -> Obj:
    """Return a batch/v1 Job status as the Job controller (Kubernetes 1.31+) writes it.

    `outcome` Complete or Failed adds the interim condition (SuccessCriteriaMet, FailureTarget)
    and the final one, as the controller does once the Job's Pods are gone.
    """
    status: Obj = {"active": active, "ready": ready, "terminating": 0}
    if succeeded:
        status["succeeded"] = succeeded
    if failed:
        status["failed"] = failed
    if started and not suspended:
        status["startTime"] = started
    conditions: list[Obj] = []
    if suspended:
        conditions.append(_job_condition("Suspended", "JobSuspended", "Job suspended", EARLIER))
    if outcome == "Complete":
        reason = reason or "CompletionsReached"
        message = message or "Reached expected number of succeeded pods"
        conditions.append(_job_condition("SuccessCriteriaMet", reason, message, finished))
        conditions.append(_job_condition("Complete", reason, message, finished))
        status["completionTime"] = finished
    elif outcome == "Failed":
        reason = reason or "BackoffLimitExceeded"
        message = message or "Job has reached the specified backoff limit"
        conditions.append(_job_condition("FailureTarget", reason, message, finished))
        conditions.append(_job_condition("Failed", reason, message, finished))
    if conditions:
        status["conditions"] = conditions
    status["uncountedTerminatedPods"] = {}
    return status


def _job_condition(type_: str, reason: str, message: str, when: str) -> Obj:
    return {
        "type": type_,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": when,
        "lastTransitionTime": when,
    }


SERVED_STATUSES: dict[str, Obj] = {
    "Service": {"loadBalancer": {}},
    "Ingress": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}},
}
"""What the API server reports for a Service and an Ingress that serve traffic."""


def observed_workload(
    controller: str,
    owner: Obj,
    *,
    deployment: Obj | None = None,
    kinds: tuple[str, ...] = ("Deployment", "Service", "Ingress"),
) -> list[Obj]:
    """Return a Deployment-based parent's children as applied, with realistic status.

    `deployment` replaces the Deployment's status (default: every replica available).
    """
    replicas = int(owner["spec"].get("replicas", 1))
    statuses = {
        **SERVED_STATUSES,
        "Deployment": deployment_status(replicas, replicas) if deployment is None else deployment,
    }
    return [
        observe(child, owner, status=statuses[child["kind"]])
        for child in desired_children(controller, owner)
        if child["kind"] in kinds
    ]


def finalize_cases(controller: str, deleting: Obj, observed: list[Obj]) -> list[Case]:
    """Return the two finalize cases: children still observed, then none left."""
    return [
        Case(
            controller,
            "finalize-with-children",
            "Being deleted with children left: ask for none, not finalized.",
            request(controller, deleting, observed, finalizing=True),
            hook="finalize",
        ),
        Case(
            controller,
            "finalize-done",
            "Deleted and no children left: finalized.",
            request(controller, deleting, [], finalizing=True),
            hook="finalize",
        ),
    ]
