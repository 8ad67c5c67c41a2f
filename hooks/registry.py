"""Controller name -> Controller: the names users script against, and which are served.

Plain data, no import-time decorators: adding a controller is one entry here.
"""

from __future__ import annotations

from hooks.api.aijob import AIJOB, AIJobOptions
from hooks.api.application import APPLICATION
from hooks.api.cronscaler import CRONSCALER
from hooks.api.foo import FOO
from hooks.api.modelbox import MODELBOX
from hooks.api.podcluster import PODCLUSTER
from hooks.api.redismigration import REDISMIGRATION, RedisMigrationOptions
from hooks.controller import ChildResource, Controller
from hooks.controllers import (
    aijob,
    application,
    cronscaler,
    foo,
    modelbox,
    podcluster,
    redismigration,
)
from hooks.runtime import BoundController, bind
from hooks.settings import Settings

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
# (child resource types: add new ones above this line)

CONTROLLERS: dict[str, Controller] = {
    "foo": Controller(
        name="foo",
        kind=FOO,
        children=(DEPLOYMENTS,),
        sync=foo.sync,
        customize=foo.customize,
        builtin_image=foo.BUILTIN_IMAGE,
    ),
    "podcluster": Controller(
        name="podcluster",
        kind=PODCLUSTER,
        children=(PODS,),
        sync=podcluster.sync,
        builtin_image=podcluster.BUILTIN_IMAGE,
    ),
    "application": Controller(
        name="application",
        kind=APPLICATION,
        children=(DEPLOYMENTS, SERVICES, INGRESSES),
        sync=application.sync,
    ),
    "modelbox": Controller(
        name="modelbox",
        kind=MODELBOX,
        children=(DEPLOYMENTS, SERVICES),
        sync=modelbox.sync,
    ),
    "redismigration": Controller(
        name="redismigration",
        kind=REDISMIGRATION,
        children=(JOBS,),
        sync=redismigration.sync,
        options=RedisMigrationOptions,
        builtin_image=redismigration.BUILTIN_IMAGE,
    ),
    "aijob": Controller(
        name="aijob",
        kind=AIJOB,
        children=(JOBS, SERVICES),
        sync=aijob.sync,
        options=AIJobOptions,
    ),
    "cronscaler": Controller(
        name="cronscaler",
        kind=CRONSCALER,
        children=(HPAS,),
        sync=cronscaler.sync,
        customize=cronscaler.customize,
    ),
    # (controllers: add new entries above this line)
}


class UnknownController(ValueError):
    """The configuration names a controller that does not exist."""


def enabled_names(settings: Settings) -> list[str]:
    """Return the enabled controller names, in registry order; unknown names are an error."""
    named = set(settings.controllers) | set(settings.enabled or ())
    unknown = sorted(named - set(CONTROLLERS))
    if unknown:
        raise UnknownController(f"unknown controllers {unknown}; known: {', '.join(CONTROLLERS)}")
    if settings.enabled is None:
        return list(CONTROLLERS)
    return [name for name in CONTROLLERS if name in settings.enabled]


def bind_enabled(settings: Settings) -> dict[str, BoundController]:
    """Bind every enabled controller to its settings, validating them once."""
    return {
        name: bind(CONTROLLERS[name], settings.controller(name), settings.policy, settings.limits)
        for name in enabled_names(settings)
    }


def controller_for_kind(kind: str) -> Controller:
    """Return the controller whose parent kind this is (for `kubehooks render`)."""
    for controller in CONTROLLERS.values():
        if controller.kind.kind == kind:
            return controller
    kinds = ", ".join(sorted(controller.kind.kind for controller in CONTROLLERS.values()))
    raise UnknownController(f"no controller handles kind {kind!r} (kinds served: {kinds})")
