"""Object metadata, standard labels, child group keys, and observed-to-desired conversion."""

from __future__ import annotations

import json
from typing import Any

from hooks.contract import KubeObject, child_key

DEPLOYMENT = child_key("Deployment", "apps/v1")
SERVICE = child_key("Service", "v1")
INGRESS = child_key("Ingress", "networking.k8s.io/v1")
POD = child_key("Pod", "v1")
JOB = child_key("Job", "batch/v1")
HPA = child_key("HorizontalPodAutoscaler", "autoscaling/v2")

MANAGED_BY = "kubehooks"
LAST_APPLIED = "metacontroller.k8s.io/last-applied-configuration"
CONTROLLER_UID = "controller-uid"
PART_OF = "app.kubernetes.io/part-of"
PARENT_GENERATION = "kubehooks.dev/parent-generation"
"""Annotation naming the parent generation a child was built from, so status can tell a child
that has not received the latest spec yet from one that has (see observe.deployment_state)."""

# Server-populated metadata that a desired object must never carry back.
_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "ownerReferences",
    "selfLink",
    "finalizers",
)


def selector_labels(name: str, instance: str) -> dict[str, str]:
    """Return the labels a selector may use: only the ones that never change for a child."""
    return {"app.kubernetes.io/instance": instance, "app.kubernetes.io/name": name}


def selector_string(labels: dict[str, str]) -> str:
    """Return labels as the `k=v,k=v` selector string a scale subresource reports."""
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def standard_labels(
    name: str, instance: str, *, component: str | None = None, part_of: str | None = None
) -> dict[str, str]:
    """Return the recommended `app.kubernetes.io/*` labels, sorted so output is stable."""
    labels = selector_labels(name, instance)
    labels["app.kubernetes.io/managed-by"] = MANAGED_BY
    if component:
        labels["app.kubernetes.io/component"] = component
    if part_of:
        labels["app.kubernetes.io/part-of"] = part_of
    return dict(sorted(labels.items()))


def object_meta(
    name: str,
    namespace: str | None,
    labels: dict[str, str],
    annotations: dict[str, str] | None = None,
) -> KubeObject:
    """Return a metadata block with only the fields we own."""
    meta: KubeObject = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = dict(sorted(labels.items()))
    if annotations:
        meta["annotations"] = dict(sorted(annotations.items()))
    return meta


def as_desired(observed: KubeObject) -> KubeObject:
    """Turn an observed child back into the desired form that was last applied.

    Used when a spec cannot be honoured: answering with the child as it was applied makes
    Metacontroller's three-way merge a no-op, so nothing running is touched. Metacontroller
    records that form in an annotation; objects applied server-side have none, so fall back to
    the observed object without status and server-populated metadata.
    """
    meta = observed.get("metadata") or {}
    last_applied = (meta.get("annotations") or {}).get(LAST_APPLIED)
    if last_applied:
        try:
            applied = json.loads(last_applied)
        except ValueError:
            applied = None
        if isinstance(applied, dict) and applied.get("kind") == observed.get("kind"):
            return applied
    desired: dict[str, Any] = {k: v for k, v in observed.items() if k != "status"}
    clean_meta = {k: v for k, v in meta.items() if k not in _SERVER_METADATA}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    if annotations:
        clean_meta["annotations"] = annotations
    else:
        clean_meta.pop("annotations", None)
    desired["metadata"] = clean_meta
    return desired


def name_of(obj: KubeObject) -> str:
    """Return `metadata.name` of an object, or an empty string."""
    return str((obj.get("metadata") or {}).get("name", ""))


def is_terminating(obj: KubeObject) -> bool:
    """Say whether an observed object is already being deleted (Metacontroller still sends it)."""
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))
