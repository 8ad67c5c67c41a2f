"""Foo: one Deployment per Foo, scaled to spec.replicas (the Kubernetes sample-controller)."""

from __future__ import annotations

from hooks.api.foo import FOO, FooSpec
from hooks.sdk import (
    DEPLOYMENT,
    DEPLOYMENTS,
    Controller,
    CustomizeResponse,
    DeploymentState,
    HookRequest,
    InvalidSpec,
    KubeObject,
    NoOptions,
    ParentMeta,
    RelatedResourceRule,
    SyncResponse,
    container,
    deployment,
    deployment_state,
    pod_spec,
    pod_template,
    selector_labels,
    selector_string,
    standard_labels,
)
from hooks.sdk import conditions as c

BUILTIN_IMAGE = "nginx"


def sync(request: HookRequest[FooSpec, NoOptions]) -> SyncResponse:
    """Return the Foo's Deployment, and its status judged on the observed one.

    A Deployment of that name that exists but is not ours (it arrives as a related object, not
    a child) is reported with reason ResourceExists, as sample-controller does, and not claimed.
    A conflict is a refused spec: the runtime keeps every observed child (a Foo renamed onto a
    foreign Deployment keeps running its own).
    """
    spec = request.spec
    observed = request.children.named(DEPLOYMENT, spec.deployment_name)
    foreign = None if observed else request.related.named(DEPLOYMENT, spec.deployment_name)
    if foreign is not None and not _owned_by(foreign, request.parent):
        message = f"Resource {spec.deployment_name!r} already exists and is not managed by Foo"
        raise InvalidSpec(message, reason=c.REASON_RESOURCE_EXISTS)
    state = deployment_state(observed)
    return SyncResponse(status=foo_status(request, state), children=[foo_deployment(request)])


def customize(parent: ParentMeta, spec: FooSpec) -> CustomizeResponse:
    """Ask for the Deployment named in the spec, so a foreign one can be reported."""
    rule = RelatedResourceRule(
        apiVersion="apps/v1",
        resource="deployments",
        namespace=parent.namespace,
        names=[spec.deployment_name],
    )
    return CustomizeResponse(relatedResources=[rule])


def foo_deployment(request: HookRequest[FooSpec, NoOptions]) -> KubeObject:
    """Build the Deployment: sample-controller's labels plus the standard ones."""
    spec = request.spec
    name = request.parent.name
    labels = {
        **standard_labels("foo", name, component="web"),
        "app": "nginx",
        "controller": name,
    }
    main = container("nginx", request.image(spec.image, BUILTIN_IMAGE))
    return deployment(
        request.meta(spec.deployment_name, labels),
        selector=selector_labels("foo", name),
        template=pod_template(labels, pod_spec([main])),
        replicas=spec.replicas,
    )


def foo_status(request: HookRequest[FooSpec, NoOptions], state: DeploymentState) -> KubeObject:
    """Judge the Foo by its observed Deployment."""
    conditions = request.conditions()
    wanted = request.spec.replicas
    if not state.exists:
        conditions.set(c.AVAILABLE, False, "DeploymentCreating", "the Deployment is being created")
        conditions.set(c.READY, False, "DeploymentCreating", "the Deployment is being created")
    else:
        available = state.available >= wanted and state.current_generation
        message = f"{state.available}/{wanted} replicas available"
        conditions.set(
            c.AVAILABLE, available, "MinimumReplicas" if available else "Scaling", message
        )
        conditions.set(c.READY, available, "DeploymentReady" if available else "Scaling", message)
    return {
        "availableReplicas": state.available,
        "replicas": state.replicas,
        "selector": selector_string(selector_labels("foo", request.parent.name)),
        "conditions": conditions.to_list(),
    }


def _owned_by(obj: KubeObject, parent: ParentMeta) -> bool:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(ref.get("uid") == parent.uid and ref.get("controller") for ref in refs)


CONTROLLER = Controller(
    name="foo",
    kind=FOO,
    children=(DEPLOYMENTS,),
    sync=sync,
    customize=customize,
    builtin_image=BUILTIN_IMAGE,
)
"""Registered as the `foo` entry point of the `kubehooks.controllers` group."""
