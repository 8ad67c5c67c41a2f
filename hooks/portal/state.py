"""Pure: a watched object, and the time, in; its plain form and its history rows out.

No I/O and no clock: `now` is an argument, so the same object always gives the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from hooks.api.kind import Kind

KubeObject = dict[str, Any]


def parse_time(text: object) -> datetime | None:
    """Return an aware datetime from an RFC 3339 string, None when absent or malformed."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def ready_condition(obj: KubeObject) -> dict[str, Any]:
    """Return the Ready condition of the object's status, or an empty mapping."""
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            return condition
    return {}


def child_ready(child: KubeObject) -> bool | None:
    """Return whether an observed child is ready, as `kubectl get` would judge it."""
    kind = child.get("kind")
    spec = child.get("spec") or {}
    status = child.get("status") or {}
    if kind in ("Deployment", "StatefulSet"):
        return int(status.get("readyReplicas") or 0) >= int(spec.get("replicas", 1))
    if kind == "Job":
        done = any(
            c.get("type") == "Complete" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        return done or int(status.get("ready") or 0) > 0
    if kind == "Pod":
        return any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
    if kind in ("Service", "Ingress", "HorizontalPodAutoscaler"):
        return True
    return None


def owned_children(parent: KubeObject, observed: list[KubeObject]) -> list[dict[str, Any]]:
    """Return (kind, name, ready) of the observed objects whose controller is the parent."""
    uid = (parent.get("metadata") or {}).get("uid")
    out = []
    for child in observed:
        owners = (child.get("metadata") or {}).get("ownerReferences") or []
        if any(o.get("uid") == uid and o.get("controller") for o in owners):
            name = (child.get("metadata") or {}).get("name")
            out.append({"kind": child.get("kind"), "name": name, "ready": child_ready(child)})
    return sorted(out, key=lambda c: (str(c["kind"]), str(c["name"])))


def by_controller(observed: list[KubeObject]) -> dict[str, list[KubeObject]]:
    """Group objects by the uid of their controller (ownerReferences with controller: true)."""
    grouped: dict[str, list[KubeObject]] = {}
    for child in observed:
        for owner in (child.get("metadata") or {}).get("ownerReferences") or []:
            if owner.get("controller") and owner.get("uid"):
                grouped.setdefault(str(owner["uid"]), []).append(child)
                break
    return grouped


def _children(obj: KubeObject) -> list[dict[str, Any]]:
    """Children named in status (`status.children`), else none: the portal never lists Pods."""
    out = []
    for child in (obj.get("status") or {}).get("children") or []:
        if isinstance(child, dict) and child.get("kind") and child.get("name"):
            out.append({"kind": child["kind"], "name": child["name"], "ready": child.get("ready")})
    return out


def age_text(seconds: float) -> str:
    """Return kubectl's compact age: 42s, 5m, 3h, 2d."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def plain_state(obj: KubeObject, *, now: datetime) -> dict[str, Any]:
    """Return an object as the portal answers it: what a person reads, not the wire format."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    ready = ready_condition(obj)
    created = parse_time(meta.get("creationTimestamp"))
    return {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "uid": meta.get("uid"),
        "labels": meta.get("labels") or {},
        "phase": status.get("phase"),
        "ready": {"True": True, "False": False}.get(str(ready.get("status"))),
        "reason": ready.get("reason"),
        "message": ready.get("message"),
        "children": _children(obj),
        "created": meta.get("creationTimestamp"),
        "age": age_text((now - created).total_seconds()) if created else None,
        "spec": obj.get("spec") or {},
    }


@dataclass(frozen=True)
class ObjectRow:
    """One object's record: what it was asked to do and how it ended."""

    uid: str
    plural: str
    namespace: str
    name: str
    labels: dict[str, str]
    spec: dict[str, Any]
    phase: str | None
    ready: bool | None
    reason: str | None
    message: str | None
    created: datetime
    started: datetime | None
    finished: datetime | None
    deleted: datetime | None
    duration_seconds: float | None
    workers: int | None
    gpu_hours: float | None
    resource_version: str
    updated: datetime


@dataclass(frozen=True)
class TransitionRow:
    """One change of phase or Ready (or the object's appearance or deletion)."""

    uid: str
    key: str
    """Unique per object, computed from the object alone, so a replayed event is a no-op."""
    time: datetime
    event: str
    phase: str | None
    ready: bool | None
    reason: str | None
    message: str | None


@dataclass(frozen=True)
class Recorded:
    """What one watch event adds to the history."""

    object: ObjectRow
    transitions: tuple[TransitionRow, ...] = field(default=())


def _duration(started: datetime | None, finished: datetime | None, now: datetime) -> float | None:
    if started is None:
        return None
    return max(0.0, ((finished or now) - started).total_seconds())


def gpu_hours(spec: dict[str, Any], duration_seconds: float | None) -> float | None:
    """Return workers × gpusPerWorker × duration in hours (AIJob); None without GPUs."""
    gpus = spec.get("gpusPerWorker")
    if not isinstance(gpus, int) or duration_seconds is None:
        return None
    workers = spec.get("workers", 1)
    return (workers if isinstance(workers, int) else 1) * gpus * duration_seconds / 3600


def object_row(kind: Kind, obj: KubeObject, *, now: datetime, deleted: bool = False) -> ObjectRow:
    """Return the object's record as of `now` (a deleted object's record keeps its last state)."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    state = plain_state(obj, now=now)
    started = parse_time(status.get("startTime"))
    finished = parse_time(status.get("completionTime"))
    duration = _duration(started, finished, now)
    workers = spec.get("workers")
    return ObjectRow(
        uid=str(meta.get("uid")),
        plural=kind.plural,
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name")),
        labels=dict(meta.get("labels") or {}),
        spec=spec,
        phase=state["phase"],
        ready=state["ready"],
        reason=state["reason"],
        message=state["message"],
        created=parse_time(meta.get("creationTimestamp")) or now,
        started=started,
        finished=finished,
        deleted=now if deleted else None,
        duration_seconds=duration,
        workers=workers if isinstance(workers, int) else None,
        gpu_hours=gpu_hours(spec, duration),
        resource_version=str(meta.get("resourceVersion") or ""),
        updated=now,
    )


def transition_key(obj: KubeObject) -> str:
    """Return phase/ready/reason@time: the same for the same observed state, on any replay."""
    status = obj.get("status") or {}
    ready = ready_condition(obj)
    when = ready.get("lastTransitionTime") or _last_phase_time(status) or ""
    return f"{status.get('phase')}/{ready.get('status')}/{ready.get('reason')}@{when}"


def _last_phase_time(status: dict[str, Any]) -> str | None:
    history = status.get("history") or []
    last = history[-1] if history and isinstance(history[-1], dict) else {}
    time = last.get("time")
    return time if isinstance(time, str) else None


def record(kind: Kind, event: str, obj: KubeObject, *, now: datetime) -> Recorded:
    """Return the rows of one watch event: ADDED, MODIFIED or DELETED."""
    deleted = event == "DELETED"
    row = object_row(kind, obj, now=now, deleted=deleted)
    transitions = []
    if event == "ADDED":
        transitions.append(_transition(row, "created", "created", row.created))
    if row.phase is not None or row.ready is not None:
        when = parse_time(ready_condition(obj).get("lastTransitionTime")) or now
        transitions.append(_transition(row, transition_key(obj), "changed", when))
    if deleted:
        transitions.append(_transition(row, "deleted", "deleted", now))
    return Recorded(row, tuple(transitions))


def deleted_while_away(row: ObjectRow, *, now: datetime) -> Recorded:
    """Return the rows marking an object gone that a relist no longer shows."""
    gone = replace(row, deleted=now, updated=now)
    return Recorded(gone, (_transition(gone, "deleted", "deleted", now),))


def _transition(row: ObjectRow, key: str, event: str, when: datetime) -> TransitionRow:
    return TransitionRow(
        uid=row.uid,
        key=key,
        time=when,
        event=event,
        phase=row.phase,
        ready=row.ready,
        reason=row.reason,
        message=row.message,
    )
