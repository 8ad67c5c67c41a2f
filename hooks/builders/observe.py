"""Reading observed children: how ready a Deployment, a Pod or a Job is.

Status is judged from what was observed, never from what is desired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    generation = _int((observed.get("metadata") or {}).get("generation"))
    seen = status.get("observedGeneration")
    return DeploymentState(
        exists=True,
        replicas=_int(status.get("replicas")),
        ready=_int(status.get("readyReplicas")),
        available=_int(status.get("availableReplicas")),
        updated=_int(status.get("updatedReplicas")),
        current_generation=not isinstance(seen, int) or seen >= generation,
        conditions=conditions_by_type(observed),
    )


def pod_is_ready(pod: KubeObject) -> bool:
    """Say whether a Pod is running, not being deleted, and Ready."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    ready = conditions_by_type(pod).get("Ready") or {}
    return ready.get("status") == "True"
