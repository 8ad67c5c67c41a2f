"""Reading observed children: how ready a Deployment, a Pod or a Job is; what an HPA holds.

Status is judged from what was observed, never from what is desired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hooks.builders.conditions import AVAILABLE, PROGRESSING, READY, Conditions
from hooks.builders.meta import PARENT_GENERATION
from hooks.contract import KubeObject


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def conditions_by_type(obj: KubeObject | None) -> dict[str, KubeObject]:
    """Return an object's status conditions indexed by type."""
    status = (obj or {}).get("status") or {}
    return {
        str(item.get("type")): item
        for item in status.get("conditions") or []
        if isinstance(item, dict) and item.get("type")
    }


@dataclass(frozen=True)
class DeploymentState:
    """The counts and conditions a Deployment reports about itself."""

    exists: bool
    replicas: int = 0
    ready: int = 0
    available: int = 0
    updated: int = 0
    current_generation: bool = True
    conditions: dict[str, KubeObject] = field(default_factory=dict)
    parent_generation: int | None = None
    """The parent generation the Deployment was built from (its PARENT_GENERATION annotation)."""

    def built_from(self, generation: int) -> bool:
        """Say whether the Deployment holds that parent generation and its controller saw it."""
        return (
            self.parent_generation is not None
            and self.parent_generation >= generation
            and self.current_generation
        )

    def condition_true(self, type_: str) -> bool:
        """Say whether a Deployment condition is True."""
        return (self.conditions.get(type_) or {}).get("status") == "True"

    @property
    def failed_progress(self) -> KubeObject | None:
        """Return the Progressing condition when the rollout has exceeded its deadline."""
        progressing = self.conditions.get("Progressing") or {}
        if progressing.get("reason") == "ProgressDeadlineExceeded":
            return progressing
        return None


def deployment_state(observed: KubeObject | None) -> DeploymentState:
    """Read a Deployment's status; an unobserved one is reported as not existing."""
    if observed is None:
        return DeploymentState(exists=False)
    status = observed.get("status") or {}
    meta = observed.get("metadata") or {}
    generation = _int(meta.get("generation"))
    seen = status.get("observedGeneration")
    built_from = str((meta.get("annotations") or {}).get(PARENT_GENERATION, ""))
    return DeploymentState(
        exists=True,
        replicas=_int(status.get("replicas")),
        ready=_int(status.get("readyReplicas")),
        available=_int(status.get("availableReplicas")),
        updated=_int(status.get("updatedReplicas")),
        current_generation=not isinstance(seen, int) or seen >= generation,
        conditions=conditions_by_type(observed),
        parent_generation=int(built_from) if built_from.isdigit() else None,
    )


def set_workload_conditions(
    conditions: Conditions,
    state: DeploymentState,
    *,
    wanted: int,
    generation: int,
    missing: Sequence[str] = (),
) -> None:
    """Set Available, Progressing and Ready of a Deployment-based kind from what was observed.

    Available and Progressing mirror the Deployment's own conditions, except that Progressing
    reports DeploymentUpdating while the Deployment has not taken the parent's latest spec
    (otherwise a `kubectl wait` right after an image change would see the old rollout's
    verdict). Ready is the summary: latest spec taken, every wanted replica updated and
    available, no old replica left, no rollout past its deadline, and no child in `missing`
    (such as "Service web" when a Service was deleted and is being created again).
    """
    if not state.exists:
        message = "the Deployment is being created"
        conditions.set(AVAILABLE, False, "DeploymentCreating", message)
        conditions.set(PROGRESSING, True, "DeploymentCreating", message)
        conditions.set(READY, False, "DeploymentCreating", message)
        return
    _mirror(conditions, state, AVAILABLE)
    pending = not state.built_from(generation)
    if pending:
        message = f"the Deployment is being updated to generation {generation} of the spec"
        conditions.set(PROGRESSING, True, "DeploymentUpdating", message)
    else:
        _mirror(conditions, state, PROGRESSING)
    conditions.set(READY, *_readiness(state, wanted, generation, pending, missing))


def _mirror(conditions: Conditions, state: DeploymentState, type_: str) -> None:
    observed = state.conditions.get(type_)
    if observed is None:
        message = "the Deployment controller has not reported yet"
        conditions.set(type_, "Unknown", "DeploymentStatusPending", message)
        return
    status = observed.get("status")
    conditions.set(
        type_,
        status if status in {"True", "False"} else "Unknown",
        str(observed.get("reason") or "DeploymentReported"),
        str(observed.get("message") or ""),
    )


def _readiness(
    state: DeploymentState, wanted: int, generation: int, pending: bool, missing: Sequence[str]
) -> tuple[bool, str, str]:
    failed = state.failed_progress
    if pending:
        message = f"waiting for the Deployment to take generation {generation}"
        return False, "DeploymentUpdating", message
    if failed is not None:
        return False, "RolloutFailed", str(failed.get("message") or "the rollout failed")
    if not state.conditions:
        return False, "DeploymentStatusPending", "the Deployment controller has not reported yet"
    if state.updated < wanted or state.replicas > wanted:
        message = f"{state.updated}/{wanted} replicas updated, {state.replicas} exist"
        return False, "RollingOut", message
    if state.available < wanted:
        return False, "ReplicasUnavailable", f"{state.available}/{wanted} replicas available"
    if missing:
        return False, "ChildrenMissing", f"waiting for {', '.join(missing)} to be created"
    return True, "AllReplicasAvailable", f"{state.available}/{wanted} replicas available"


def ingress_url(ingress: KubeObject | None) -> str | None:
    """Return the URL an observed Ingress serves, from its first rule.

    The host is the rule's, else the load balancer's address once the ingress controller has
    published one; https when a TLS entry covers that host. None for a wildcard host.
    """
    if ingress is None:
        return None
    spec = ingress.get("spec") or {}
    rules = spec.get("rules") or [{}]
    rule_host = rules[0].get("host")
    host = rule_host or _load_balancer_address(ingress)
    if not host or "*" in host:
        return None
    paths = (rules[0].get("http") or {}).get("paths") or [{}]
    path = paths[0].get("path") or "/"
    secure = any(
        not entry.get("hosts") or rule_host in entry["hosts"] for entry in spec.get("tls") or []
    )
    return f"{'https' if secure else 'http'}://{host}{path}"


def _load_balancer_address(obj: KubeObject) -> str | None:
    entries = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    for entry in entries:
        address = entry.get("hostname") or entry.get("ip")
        if address:
            return str(address)
    return None


def find_condition(obj: KubeObject | None, type_: str) -> KubeObject | None:
    """Return an object's status condition of one type (the last, as conditions_by_type does).

    For a question about one condition of many objects (every observed Pod): it builds nothing.
    """
    found = None
    for item in ((obj or {}).get("status") or {}).get("conditions") or ():
        if isinstance(item, dict) and item.get("type") == type_:
            found = item
    return found


def pod_is_ready(pod: KubeObject) -> bool:
    """Say whether a Pod is running, not being deleted, and Ready."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    ready = find_condition(pod, "Ready") or {}
    return ready.get("status") == "True"


@dataclass(frozen=True)
class JobState:
    """What a batch/v1 Job reports about itself: pod counts, times, and how it ended."""

    exists: bool
    active: int = 0
    ready: int = 0
    succeeded: int = 0
    failed: int = 0
    suspended: bool = False
    start_time: str | None = None
    completion_time: str | None = None
    outcome: str | None = None
    """`Complete` or `Failed` once the Job controller has said so, else None."""
    reason: str = ""
    """The reason of the Complete/Failed condition (BackoffLimitExceeded, DeadlineExceeded...)."""
    message: str = ""
    finished_at: str | None = None
    """When it ended: completionTime, else the Failed condition's lastTransitionTime."""
    suspended_at: str | None = None
    """When it was suspended: the Suspended condition's lastTransitionTime."""

    @property
    def started(self) -> bool:
        """Say whether a pod of the Job has run: ready, succeeded or failed."""
        return self.ready > 0 or self.succeeded > 0 or self.failed > 0


def job_state(observed: KubeObject | None) -> JobState:
    """Read a Job's status; an unobserved one is reported as not existing.

    Only the final conditions count (Complete, Failed): SuccessCriteriaMet and FailureTarget
    come first while the Job's pods are still terminating, and the Job is not done until then.
    """
    if observed is None:
        return JobState(exists=False)
    status = observed.get("status") or {}
    conditions = conditions_by_type(observed)
    outcome = None
    for type_ in ("Failed", "Complete"):
        if (conditions.get(type_) or {}).get("status") == "True":
            outcome = type_
    ending = conditions.get(outcome or "") or {}
    suspension = conditions.get("Suspended") or {}
    suspended = suspension.get("status") == "True"
    completion = status.get("completionTime")
    return JobState(
        exists=True,
        active=_int(status.get("active")),
        ready=_int(status.get("ready")),
        succeeded=_int(status.get("succeeded")),
        failed=_int(status.get("failed")),
        suspended=suspended and outcome is None,
        start_time=status.get("startTime") if isinstance(status.get("startTime"), str) else None,
        completion_time=completion if isinstance(completion, str) else None,
        outcome=outcome,
        reason=str(ending.get("reason") or ""),
        message=str(ending.get("message") or ""),
        finished_at=(
            completion
            if isinstance(completion, str)
            else str(ending["lastTransitionTime"])
            if ending.get("lastTransitionTime")
            else None
        ),
        suspended_at=str(suspension["lastTransitionTime"])
        if suspended and suspension.get("lastTransitionTime")
        else None,
    )


def api_group(api_version: str) -> str:
    """Return the group of an apiVersion: `apps` for `apps/v1`, `` for the core `v1`."""
    return api_version.rpartition("/")[0]


@dataclass(frozen=True)
class AutoscalerState:
    """What an autoscaling/v2 HorizontalPodAutoscaler asks for and reports."""

    exists: bool
    min_replicas: int | None = None
    max_replicas: int | None = None
    target: KubeObject = field(default_factory=dict)
    """Its `spec.scaleTargetRef` (apiVersion, kind, name)."""
    current_replicas: int | None = None
    """The target's replicas as the HPA controller last read them; None before its first pass."""
    conditions: dict[str, KubeObject] = field(default_factory=dict)

    def targets(self, api_version: str, kind: str, name: str) -> bool:
        """Say whether it scales that workload (same group, kind and name; any version)."""
        ref = self.target
        return (
            ref.get("kind") == kind
            and ref.get("name") == name
            and api_group(str(ref.get("apiVersion") or "")) == api_group(api_version)
        )

    def condition_false(self, type_: str) -> KubeObject | None:
        """Return one of its conditions (AbleToScale, ScalingActive...) when it is False."""
        condition = self.conditions.get(type_) or {}
        return condition if condition.get("status") == "False" else None


def autoscaler_state(observed: KubeObject | None) -> AutoscalerState:
    """Read a HorizontalPodAutoscaler; an unobserved one is reported as not existing."""
    if observed is None:
        return AutoscalerState(exists=False)
    spec = observed.get("spec") or {}
    status = observed.get("status") or {}
    minimum = spec.get("minReplicas", 1)  # the API server's default
    current = status.get("currentReplicas")
    target = spec.get("scaleTargetRef")
    return AutoscalerState(
        exists=True,
        min_replicas=_int(minimum),
        max_replicas=_int(spec.get("maxReplicas")),
        target=dict(target) if isinstance(target, dict) else {},
        current_replicas=_int(current) if "currentReplicas" in status else None,
        conditions=conditions_by_type(observed),
    )
