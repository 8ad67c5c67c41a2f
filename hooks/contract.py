"""Pydantic models of Metacontroller's CompositeController hook wire format.

Requests are open (they carry whole Kubernetes objects, kept as plain dicts so that a request
with a thousand Pods is not validated field by field); responses are closed, because a v2 hook
response with an unknown top-level key fails the whole sync, and a v1 response with a misspelt
`children` would delete every child.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

KubeObject = dict[str, Any]
ObjectMap = dict[str, KubeObject]
"""One child group: v1 keys it by `name`, v2 by `namespace/name`; controllers never read keys."""


def child_key(kind: str, api_version: str) -> str:
    """Return the group key: `Kind.version` for core, `Kind.group/version` otherwise."""
    return f"{kind}.{api_version}"


class SyncRequest(BaseModel):
    """The body of a sync or finalize call (identical apart from `finalizing`)."""

    model_config = ConfigDict(extra="allow")

    controller: KubeObject = Field(default_factory=dict)
    parent: KubeObject
    children: dict[str, ObjectMap] = Field(default_factory=dict)
    related: dict[str, ObjectMap] = Field(default_factory=dict)
    finalizing: bool = False

    def observed(self, key: str) -> list[KubeObject]:
        """Return the observed children of one group, ordered by namespace and name."""
        return Observed(self.children).all(key)

    def observed_named(self, key: str, name: str) -> KubeObject | None:
        """Return the observed child of that group and name, whatever the hook version's key."""
        return Observed(self.children).named(key, name)

    def all_observed(self) -> Iterator[KubeObject]:
        """Yield every observed child of every group, in a stable order."""
        yield from Observed(self.children).everything()


class Observed:
    """Typed access to a children or related map that does not depend on v1/v2 inner keys."""

    __slots__ = ("_groups",)

    def __init__(self, groups: dict[str, ObjectMap]) -> None:
        self._groups = groups

    def all(self, key: str) -> list[KubeObject]:
        """Return the objects of one group, ordered by namespace and name."""
        objects = self._groups.get(key) or {}
        return sorted(objects.values(), key=_namespaced_name)

    def named(self, key: str, name: str) -> KubeObject | None:
        """Return the object of that group with `metadata.name == name`, if observed."""
        for obj in (self._groups.get(key) or {}).values():
            if (obj.get("metadata") or {}).get("name") == name:
                return obj
        return None

    def by_name(self, key: str) -> dict[str, KubeObject]:
        """Return the objects of one group indexed by `metadata.name`."""
        return {
            (obj.get("metadata") or {}).get("name", ""): obj
            for obj in (self._groups.get(key) or {}).values()
        }

    def everything(self) -> Iterator[KubeObject]:
        """Yield every object of every group, groups in key order."""
        for key in sorted(self._groups):
            yield from self.all(key)


def _namespaced_name(obj: KubeObject) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace", "")), str(meta.get("name", "")))


class SyncResponse(BaseModel):
    """What a sync or finalize hook answers.

    `status` is always an object (null wipes the parent's status) and `children` always a list
    (a missing list deletes every child). `resyncAfterSeconds` and `finalized` are sent only
    when they mean something.
    """

    model_config = ConfigDict(extra="forbid")

    status: KubeObject
    children: list[KubeObject]
    resyncAfterSeconds: int | float | None = None  # noqa: N815 - wire name
    finalized: bool | None = None

    def to_wire(self) -> KubeObject:
        """Return the JSON-ready body, with the optional keys only when set."""
        body: KubeObject = {"status": self.status, "children": self.children}
        if self.resyncAfterSeconds is not None:
            body["resyncAfterSeconds"] = self.resyncAfterSeconds
        if self.finalized is not None:
            body["finalized"] = self.finalized
        return body


class LabelSelectorRequirement(BaseModel):
    """One `matchExpressions` entry of a metav1.LabelSelector."""

    model_config = ConfigDict(extra="forbid")

    key: str
    operator: str
    values: list[str] | None = None


class LabelSelector(BaseModel):
    """A metav1.LabelSelector."""

    model_config = ConfigDict(extra="forbid")

    matchLabels: dict[str, str] | None = None  # noqa: N815 - wire name
    matchExpressions: list[LabelSelectorRequirement] | None = None  # noqa: N815 - wire name

    def to_wire(self) -> KubeObject:
        """Return the selector as Kubernetes writes it, without unset fields."""
        return self.model_dump(exclude_none=True)


class CustomizeRequest(BaseModel):
    """The body of a customize call: the controller and the parent, nothing observed."""

    model_config = ConfigDict(extra="allow")

    controller: KubeObject = Field(default_factory=dict)
    parent: KubeObject


class RelatedResourceRule(BaseModel):
    """One related-resource rule; `names` cannot be combined with the selectors."""

    model_config = ConfigDict(extra="forbid")

    apiVersion: str  # noqa: N815 - wire name
    resource: str
    labelSelector: LabelSelector | None = None  # noqa: N815 - wire name
    namespaceSelector: LabelSelector | None = None  # noqa: N815 - wire name
    namespace: str | None = None
    names: list[str] | None = None


class CustomizeResponse(BaseModel):
    """What a customize hook answers."""

    model_config = ConfigDict(extra="forbid")

    relatedResources: list[RelatedResourceRule]  # noqa: N815 - wire name

    def to_wire(self) -> KubeObject:
        """Return the JSON-ready body."""
        return {
            "relatedResources": [
                rule.model_dump(exclude_none=True) for rule in self.relatedResources
            ]
        }
