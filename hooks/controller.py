"""What a controller is: its kind, its child types, and its pure hook functions.

A controller module exposes plain functions and one `Controller` value that names them;
`hooks.registry` discovers those values through entry points. Nothing here does I/O or
reads the clock: `now` arrives in the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from hooks.api.common import KubeModel
from hooks.api.kind import Kind
from hooks.builders.conditions import Conditions
from hooks.builders.meta import CONTROLLER_UID, object_meta
from hooks.contract import (
    CustomizeResponse,
    KubeObject,
    Observed,
    SyncResponse,
    child_key,
)

SpecT = TypeVar("SpecT", bound=KubeModel)
OptionsT = TypeVar("OptionsT", bound=BaseModel)


class NoOptions(BaseModel):
    """Options model of a controller that has none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class ParentMeta:
    """The parent's identity, read once from the request."""

    name: str
    namespace: str | None
    uid: str
    generation: int
    labels: dict[str, str]
    deleting: bool
    status: KubeObject

    @classmethod
    def of(cls, parent: KubeObject) -> ParentMeta:
        """Read the identity of a parent object."""
        meta = parent.get("metadata") or {}
        status = parent.get("status")
        generation = meta.get("generation")
        return cls(
            name=str(meta.get("name", "")),
            namespace=meta.get("namespace") or None,
            uid=str(meta.get("uid", "")),
            generation=generation if isinstance(generation, int) else 0,
            labels=dict(meta.get("labels") or {}),
            deleting=bool(meta.get("deletionTimestamp")),
            status=status if isinstance(status, dict) else {},
        )


@dataclass(frozen=True)
class HookRequest(Generic[SpecT, OptionsT]):
    """What a controller's sync function sees: the parent with a validated spec, and the world."""

    parent: ParentMeta
    spec: SpecT
    children: Observed
    related: Observed
    options: OptionsT
    default_image: str | None
    now: datetime

    def conditions(self) -> Conditions:
        """Start this answer's conditions from the ones the parent carries."""
        return Conditions(self.parent.status.get("conditions"), self.parent.generation, self.now)

    def meta(
        self, name: str, labels: dict[str, str], annotations: dict[str, str] | None = None
    ) -> KubeObject:
        """Return metadata for a child in the parent's namespace, with the controller-uid label.

        The label is what Metacontroller's generated selector matches; the runtime adds it to
        any child that lacks it, but a child built here needs no second, sorted copy of its labels.
        """
        if self.parent.uid:
            labels = {**labels, CONTROLLER_UID: self.parent.uid}
        return object_meta(name, self.parent.namespace, labels, annotations)

    def image(self, requested: str | None, builtin: str) -> str:
        """Pick the spec's image, else the configured default, else the built-in one."""
        return requested or self.default_image or builtin


@dataclass(frozen=True)
class FinalizeRequest:
    """What a finalize function sees; no spec, since a parent must be deletable even if invalid."""

    parent: ParentMeta
    children: Observed
    now: datetime


@dataclass(frozen=True)
class ChildResource:
    """One `childResources` rule of the CompositeController."""

    kind: str
    api_version: str
    resource: str
    update_strategy: str = "InPlace"
    status_checks: tuple[tuple[str, str], ...] = ()
    """Condition (type, status) pairs a Rolling* strategy waits for."""

    @property
    def key(self) -> str:
        """Return the group key Metacontroller uses for these children."""
        return child_key(self.kind, self.api_version)


DEPLOYMENTS = ChildResource("Deployment", "apps/v1", "deployments")
PODS = ChildResource("Pod", "v1", "pods", update_strategy="OnDelete")
"""OnDelete: Metacontroller never updates a Pod (most of a Pod's spec cannot change in place); the
PodCluster hook rolls a new template out itself, one ordinal at a time. No Metacontroller rolling
strategy is used anywhere: they stall on namespaced children and hang namespace deletion."""
SERVICES = ChildResource("Service", "v1", "services")
INGRESSES = ChildResource("Ingress", "networking.k8s.io/v1", "ingresses")
JOBS = ChildResource("Job", "batch/v1", "jobs")
"""InPlace, and the controllers answer an existing Job as it was applied: a Job's pod template is
immutable (a rebuilt one would fail every update), while `suspend` can change in place."""
HPAS = ChildResource("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers")
CONFIGMAPS = ChildResource("ConfigMap", "v1", "configmaps")
# (child resource types: add new ones above this line)


SyncFn = Callable[[HookRequest[Any, Any]], SyncResponse]
FinalizeFn = Callable[[FinalizeRequest], SyncResponse]
CustomizeFn = Callable[[ParentMeta, Any], CustomizeResponse]
"""Customize sees the parent and its validated spec: related rules may depend on spec only."""


@dataclass(frozen=True)
class Controller:
    """One controller: the route name users script against, its kind, children and hooks."""

    name: str
    kind: Kind
    children: tuple[ChildResource, ...]
    sync: SyncFn
    finalize: FinalizeFn | None = None
    customize: CustomizeFn | None = None
    options: type[BaseModel] = NoOptions
    builtin_image: str | None = None
    resync_period_seconds: int | None = None

    def child_keys(self) -> set[str]:
        """Return the group keys of every child type."""
        return {child.key for child in self.children}
