"""An in-memory `Cluster` for the portal's unit tests: objects, resourceVersions, a watch log."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from typing import Any

from hooks.api.kind import Kind
from hooks.portal.auth import Identity
from hooks.portal.cluster import ClusterError, ObjectList, WatchEvent, WatchExpired

KubeObject = dict[str, Any]


class FakeCluster:
    """Keeps objects by (plural, namespace, name); every change is a watch event."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], KubeObject] = {}
        self.events: list[tuple[int, str, WatchEvent]] = []
        self.version = 100
        self.uids = itertools.count(1)
        self.writes: list[tuple[str, str, Identity]] = []
        self.down = False
        self.children: dict[tuple[str, str, str], KubeObject] = {}
        """Child objects by (resource, namespace, name), for an object's children."""
        self.children_lists: list[tuple[str, str, str]] = []
        """(resource, namespace, label selector) of every list of children asked."""
        self.expired_before = 0
        """Watches from a resourceVersion below this answer 410 Gone."""

    def _check(self) -> None:
        if self.down:
            raise ClusterError(0, "API server unreachable: connection refused")

    def _event(self, plural: str, type_: str, obj: KubeObject) -> None:
        self.events.append((self.version, plural, WatchEvent(type_, copy.deepcopy(obj))))

    def put(self, kind: Kind, obj: KubeObject, type_: str = "MODIFIED") -> KubeObject:
        """Store an object (as a controller's status write would) and log its event."""
        self.version += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self.version)
        meta.setdefault("uid", f"uid-{next(self.uids)}")
        meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        self.objects[(kind.plural, meta["namespace"], meta["name"])] = obj
        self._event(kind.plural, type_, obj)
        return obj

    def remove(self, kind: Kind, namespace: str, name: str) -> None:
        obj = self.objects.pop((kind.plural, namespace, name))
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)
        self._event(kind.plural, "DELETED", obj)

    def list(
        self,
        kind: Kind,
        namespace: str | None,
        *,
        limit: int | None = None,
        continue_token: str | None = None,
        label_selector: str | None = None,
    ) -> ObjectList:
        self._check()
        items = [
            copy.deepcopy(obj)
            for (plural, ns, _), obj in sorted(self.objects.items())
            if plural == kind.plural and namespace in (None, ns)
        ]
        if label_selector:
            if label_selector.count("=") != 1:
                raise ClusterError(400, "unable to parse requirement (the fake knows only k=v)")
            key, value = label_selector.split("=")
            items = [o for o in items if (o["metadata"].get("labels") or {}).get(key) == value]
        if continue_token and not continue_token.isdigit():
            raise ClusterError(400, "continue key is not valid")  # as the API server answers
        start = int(continue_token or 0)
        end = start + limit if limit else len(items)
        token = str(end) if end < len(items) else None
        return ObjectList(items[start:end], token, str(self.version))

    def get(self, kind: Kind, namespace: str, name: str) -> KubeObject | None:
        self._check()
        found = self.objects.get((kind.plural, namespace, name))
        return copy.deepcopy(found) if found else None

    def create(
        self, kind: Kind, namespace: str, body: KubeObject, *, as_user: Identity
    ) -> KubeObject:
        self._check()
        self.writes.append(("create", body["metadata"]["name"], as_user))
        if (kind.plural, namespace, body["metadata"]["name"]) in self.objects:
            raise ClusterError(409, "already exists")
        return copy.deepcopy(self.put(kind, copy.deepcopy(body), "ADDED"))

    def patch(
        self, kind: Kind, namespace: str, name: str, patch: KubeObject, *, as_user: Identity
    ) -> KubeObject:
        from hooks.portal.api import merge_patch

        self._check()
        self.writes.append(("patch", name, as_user))
        current = self.objects[(kind.plural, namespace, name)]
        return copy.deepcopy(self.put(kind, merge_patch(current, patch)))

    def delete(self, kind: Kind, namespace: str, name: str, *, as_user: Identity) -> None:
        self._check()
        self.writes.append(("delete", name, as_user))
        if (kind.plural, namespace, name) not in self.objects:
            raise ClusterError(404, f"{name} not found")
        self.remove(kind, namespace, name)

    def watch(
        self, kind: Kind, resource_version: str, *, timeout_seconds: int
    ) -> Iterator[WatchEvent]:
        """Replay the logged events after resource_version, then end (as a watch timeout)."""
        self._check()
        if int(resource_version) < self.expired_before:
            raise WatchExpired()
        for version, plural, event in list(self.events):
            if plural == kind.plural and version > int(resource_version):
                yield event

    def list_children(
        self, api_version: str, resource: str, namespace: str, label_selector: str
    ) -> list[KubeObject]:
        self._check()
        self.children_lists.append((resource, namespace, label_selector))
        key, equals, value = label_selector.partition("=")  # k=v, or k alone: the key exists
        return [
            copy.deepcopy(obj)
            for (plural, ns, _), obj in sorted(self.children.items())
            if plural == resource
            and ns == namespace
            and key in (obj["metadata"].get("labels") or {})
            and (not equals or obj["metadata"]["labels"][key] == value)
        ]

    def ping(self) -> bool:
        return not self.down
