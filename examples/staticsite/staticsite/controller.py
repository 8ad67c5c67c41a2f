"""StaticSite: its children, and its status judged on what is observed."""

from __future__ import annotations

from hooks.sdk import (
    CONFIGMAPS,
    DEPLOYMENT,
    DEPLOYMENTS,
    SERVICES,
    Controller,
    HookRequest,
    KubeObject,
    NoOptions,
    SyncResponse,
    conditions,
    container,
    container_port,
    deployment,
    deployment_state,
    pod_spec,
    pod_template,
    selector_labels,
    service,
    service_port,
    standard_labels,
)

from staticsite.api import STATICSITE, StaticSiteSpec

BUILTIN_IMAGE = "nginxinc/nginx-unprivileged:1.27"
Request = HookRequest[StaticSiteSpec, NoOptions]


def sync(request: Request) -> SyncResponse:
    """Return the StaticSite's children, and its status judged on the observed ones."""
    status = staticsite_status(request)
    children = [
        staticsite_deployment(request),
        staticsite_service(request),
        staticsite_configmap(request),
    ]
    return SyncResponse(status=status, children=children)


def staticsite_status(request: Request) -> KubeObject:
    """Judge the StaticSite by its observed children (never by the desired ones)."""
    observed = request.children.named(DEPLOYMENT, request.parent.name)
    state = deployment_state(observed)
    wanted = request.spec.replicas
    if not state.exists:
        ready, reason = False, "Creating"
        message = "the Deployment is being created"
    else:
        ready = state.available >= wanted and state.current_generation
        reason = "DeploymentReady" if ready else "Scaling"
        message = f"{state.available}/{wanted} replicas available"
    found = request.conditions()
    found.set(conditions.READY, ready, reason, message)
    return {"conditions": found.to_list()}


def staticsite_container(request: Request) -> KubeObject:
    """Build the main container: the spec's image, else the configured default."""
    return container(
        "main",
        request.image(request.spec.image, BUILTIN_IMAGE),
        ports=[container_port(request.spec.port, name="http")],
    )


def staticsite_deployment(request: Request) -> KubeObject:
    """Build the Deployment running the main container."""
    name = request.parent.name
    labels = standard_labels("staticsite", name, component="server")
    return deployment(
        request.meta(name, labels),
        selector=selector_labels("staticsite", name),
        template=pod_template(labels, pod_spec([staticsite_container(request)])),
        replicas=request.spec.replicas,
    )


def staticsite_service(request: Request) -> KubeObject:
    """Build the Service in front of the Pods."""
    name = request.parent.name
    return service(
        request.meta(name, standard_labels("staticsite", name, component="server")),
        selector=selector_labels("staticsite", name),
        ports=[service_port(request.spec.port, name="http", target_port="http")],
    )


def staticsite_configmap(request: Request) -> KubeObject:
    """Build the ConfigMap holding the spec's files, keys sorted."""
    name = request.parent.name
    labels = standard_labels("staticsite", name, component="config")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": request.meta(f"{name}-files", labels),
        "data": dict(sorted(request.spec.data.items())),
    }


CONTROLLER = Controller(
    name="staticsite",
    kind=STATICSITE,
    children=(DEPLOYMENTS, SERVICES, CONFIGMAPS),
    sync=sync,
    builtin_image=BUILTIN_IMAGE,
)
"""Registered as the `staticsite` entry point of the `kubehooks.controllers` group."""
