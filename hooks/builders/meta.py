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


class EchoedChild(dict[str, Any]):
    """An observed child answered back unchanged: the runtime vets it before it leaves.

    A plain dict on the wire, which remembers the observed object it echoes and why that
    object's last-applied annotation was not used (None when it was), so that the runtime can
    fall back to the observed object when the annotation breaks the security policy, and say in
    status when an annotation was ignored. Nothing read from a child is trusted: anyone who may
    edit a child's annotations would otherwise choose what Metacontroller, with its cluster-wide
    rights, creates.
    """

    __slots__ = ("observed", "distrust", "spec_changes")

    def __init__(
        self,
        body: KubeObject,
        observed: KubeObject,
        distrust: str | None,
        spec_changes: KubeObject | None = None,
    ) -> None:
        super().__init__(body)
        self.observed = observed
        self.distrust = distrust
        self.spec_changes: KubeObject = spec_changes or {}

    def changing_spec(self, **changes: Any) -> EchoedChild:
        """Return this echo with top-level spec fields a controller still owns changed."""
        body = {**self, "spec": {**(self.get("spec") or {}), **changes}}
        return EchoedChild(body, self.observed, self.distrust, {**self.spec_changes, **changes})

    def as_observed(self, distrust: str) -> EchoedChild:
        """Return the echo of the observed object itself (with the same spec changes)."""
        echo = EchoedChild(observed_as_desired(self.observed), self.observed, distrust)
        return echo.changing_spec(**self.spec_changes) if self.spec_changes else echo


def as_desired(observed: KubeObject) -> EchoedChild:
    """Turn an observed child back into the desired form that was last applied.

    Used when a spec cannot be honoured, and for children that must not change: answering with
    the child as it was applied makes Metacontroller's three-way merge a no-op, so nothing
    running is touched. Metacontroller records that form in its last-applied annotation
    (`pkg/controller/common/manage_children.go`, `DynamicApply.Apply` and `ApplyUpdate`); the
    annotation is used only when it parses and names this very object (apiVersion, kind,
    namespace, name), and without server-set metadata. Otherwise the observed object itself is
    echoed, without status and server-set metadata.
    """
    applied, distrust = _last_applied(observed)
    if applied is not None:
        return EchoedChild(applied, observed, None)
    return EchoedChild(observed_as_desired(observed), observed, distrust)


def observed_as_desired(observed: KubeObject) -> KubeObject:
    """Return the observed object without status, server-set metadata and last-applied."""
    return _without_server_fields(observed)


def _last_applied(observed: KubeObject) -> tuple[KubeObject | None, str | None]:
    """Return the usable last-applied form of a child, or None and why it is not usable."""
    meta = observed.get("metadata") or {}
    raw = (meta.get("annotations") or {}).get(LAST_APPLIED)
    if not isinstance(raw, str) or not raw:
        return None, "it has no last-applied annotation"
    try:
        applied = json.loads(raw)
    except ValueError:
        return None, "its last-applied annotation does not parse"
    if not isinstance(applied, dict) or not isinstance(applied.get("metadata"), dict):
        return None, "its last-applied annotation is not an object with metadata"
    other = _other_identity(applied, observed)
    if other is not None:
        return None, f"its last-applied annotation names another object ({other})"
    return _without_server_fields(applied), None


def _other_identity(applied: KubeObject, observed: KubeObject) -> str | None:
    """Describe how `applied` names another object than `observed`, or return None."""
    meta, observed_meta = applied["metadata"], observed.get("metadata") or {}
    namespace = meta.get("namespace")
    same = (
        applied.get("apiVersion") == observed.get("apiVersion")
        and applied.get("kind") == observed.get("kind")
        and meta.get("name") == observed_meta.get("name")
        and (namespace is None or namespace == observed_meta.get("namespace"))
    )
    if same:
        return None
    where = f"{namespace}/" if isinstance(namespace, str) and namespace else ""
    return f"{applied.get('kind')} {applied.get('apiVersion')} {where}{meta.get('name')}"


def _without_server_fields(obj: KubeObject) -> KubeObject:
    meta = obj.get("metadata") or {}
    desired: dict[str, Any] = {k: v for k, v in obj.items() if k != "status"}
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
